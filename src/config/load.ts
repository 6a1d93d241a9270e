/**
 * Loads the YAML configuration and validates it against the schema. Errors name the file,
 * the line and the setting, with the schema's hint: `config.yaml:12: hosts.0.uri: Required`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { ZodError } from 'zod';
import { type Config, type ConfigInput, ConfigSchema } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export async function loadConfigFile(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const config = parseConfigText(text, file);
  // Relative paths in a config file are relative to the file, not to where virtbot was started.
  config.bot.dataDir = resolve(dirname(file), config.bot.dataDir);
  if (config.bot.minutesDir !== undefined)
    config.bot.minutesDir = resolve(dirname(file), config.bot.minutesDir);
  if (config.audit.file !== undefined && !isAbsolute(config.audit.file)) {
    config.audit.file = resolve(dirname(file), config.audit.file);
  }
  return config;
}

export function parseConfigText(text: string, file = '<config>'): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line ?? 0;
    throw new ConfigError(`${file}:${line}: YAML syntax: ${first.message.split('\n')[0]}`);
  }
  const result = ConfigSchema.safeParse(doc.toJS() ?? {});
  if (!result.success)
    throw new ConfigError(formatIssues(result.error, file, (path) => lineOf(doc, lineCounter, path)));
  return result.data;
}

export function validateConfig(input: ConfigInput): Config {
  const result = ConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatIssues(result.error, '<built-in config>', () => 0));
  return result.data;
}

function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: PropertyKey[]): number {
  // Walk up the path until a node exists: a missing key is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return 1;
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
