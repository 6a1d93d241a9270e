/**
 * Loads the YAML configuration, validates it against the schema and runs the checks of check.ts.
 * Errors name the file, the line and the setting, with a hint: `config.yaml:12: hosts.0.uri: Required`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { ZodError } from 'zod';
import { type CheckReport, type ConfigSource, checkConfig, type Finding, lineOf } from './check.js';
import { type Config, type ConfigInput, ConfigSchema } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Where warnings go (default: stderr, one line each). */
  warn?: (line: string) => void;
  /** Check that every secret can be read (default true). */
  secrets?: boolean;
}

/**
 * Reads, validates and checks a config file (see check.ts): refuses it with every error, each
 * as `file:line: setting: message`; says the warnings and returns the config.
 */
export async function loadConfigFile(file: string, options: LoadOptions = {}): Promise<Config> {
  const { config, report } = await checkConfigFile(file, options);
  if (report.errors.length > 0) throw new ConfigError(formatFindings(file, report.errors));
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  for (const line of formatFindings(file, report.warnings).split('\n').filter(Boolean))
    warn(`warning: ${line}`);
  return config;
}

/** The config and what the checks found; throws ConfigError only when it cannot be read or parsed. */
export async function checkConfigFile(
  file: string,
  options: LoadOptions = {},
): Promise<{ config: Config; report: CheckReport }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const { config, source } = parseConfigSource(text, file);
  // Relative paths in a config file are relative to the file, not to where virtbot was started.
  config.bot.dataDir = resolve(dirname(file), config.bot.dataDir);
  if (config.bot.minutesDir !== undefined)
    config.bot.minutesDir = resolve(dirname(file), config.bot.minutesDir);
  if (config.audit.file !== undefined && !isAbsolute(config.audit.file)) {
    config.audit.file = resolve(dirname(file), config.audit.file);
  }
  const report = await checkConfig(config, source, { secrets: options.secrets !== false });
  return { config, report };
}

export function formatFindings(file: string, findings: readonly Finding[]): string {
  return findings.map((f) => `${file}:${f.line}: ${f.path}: ${f.message}`).join('\n');
}

export function parseConfigText(text: string, file = '<config>'): Config {
  return parseConfigSource(text, file).config;
}

/** Parses and validates against the schema, keeping the YAML document for line numbers. */
export function parseConfigSource(text: string, file = '<config>'): { config: Config; source: ConfigSource } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line ?? 0;
    throw new ConfigError(`${file}:${line}: YAML syntax: ${first.message.split('\n')[0]}`);
  }
  const source: ConfigSource = { doc, lineCounter };
  const result = ConfigSchema.safeParse(doc.toJS() ?? {});
  if (!result.success)
    throw new ConfigError(formatIssues(result.error, file, (path) => lineOf(source, path)));
  return { config: result.data, source };
}

export function validateConfig(input: ConfigInput): Config {
  const result = ConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatIssues(result.error, '<built-in config>', () => 0));
  return result.data;
}

function formatIssues(error: ZodError, file: string, line: (path: PropertyKey[]) => number): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map(String).join('.') || '(top level)';
      let hint = issue.message;
      if (issue.code === 'unrecognized_keys')
        hint = `unknown setting ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
      return `${file}:${line(issue.path)}: ${path}: ${hint}`;
    })
    .join('\n');
}
