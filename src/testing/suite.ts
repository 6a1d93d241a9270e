/**
 * `virtbot test`: runs transcript files, several at once, each in isolation — its own bot, its
 * own data directory and its own hypervisor connections (so its own test:/// state) — and says
 * how each went and how long it took. With `update`, failing literal expectations are rewritten
 * in the files.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createApp } from '../app.js';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { People } from './people.js';
import { renderOptionsOf } from './render/index.js';
import { readTranscript, type TranscriptPlace, TranscriptSyntaxError } from './syntax.js';
import { type BotLine, describeLine, runTranscript, type TranscriptFailure } from './transcript.js';
import { applyUpdates, type LineChange } from './update.js';

export type FileStatus = 'passed' | 'failed' | 'unreadable';

export interface FileOutcome {
  file: string;
  status: FileStatus;
  steps: number;
  failures: TranscriptFailure[];
  /** Why the file could not be run (unreadable file, syntax, config). */
  error?: string;
  /** How long it took, in milliseconds. */
  ms: number;
  output: BotLine[];
  /** The transcript's own place, for describing its bot lines. */
  place: TranscriptPlace;
  /** With `update`: the expectation lines rewritten in the file. */
  changes: LineChange[];
}

export interface SuiteOptions {
  /** The config file for transcripts without a `; config:` header; undefined: the embedded default. */
  config?: string;
  /** The config a run uses, given the file (or the embedded default) and a private data directory. */
  configFor: (file: string | undefined, dataDir: string) => Promise<Config>;
  /** Files run at once. */
  jobs: number;
  update?: boolean;
  /** Told of each file as soon as it and every file before it are done (in the order given). */
  onOutcome?: (outcome: FileOutcome, index: number) => void;
}

export async function runSuite(files: readonly string[], options: SuiteOptions): Promise<FileOutcome[]> {
  const outcomes: (FileOutcome | undefined)[] = files.map(() => undefined);
  let next = 0;
  let told = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      outcomes[index] = await runFile(files[index]!, options);
      while (told < files.length && outcomes[told] !== undefined) {
        options.onOutcome?.(outcomes[told]!, told);
        told++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, files.length)) }, worker));
  return outcomes as FileOutcome[];
}

async function runFile(file: string, options: SuiteOptions): Promise<FileOutcome> {
  const started = performance.now();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const outcome = emptyOutcome(file);
    outcome.error = `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    return { ...outcome, ms: Math.round(performance.now() - started) };
  }
  const outcome = await runText(text, file, options);
  if (outcome.updates.length > 0) {
    const updated = applyUpdates(text, outcome.updates);
    outcome.changes = updated.changes;
    await writeFile(file, updated.text);
  }
  return { ...outcome, ms: Math.round(performance.now() - started) };
}

function emptyOutcome(file: string): FileOutcome & { updates: { line: number; text: string }[] } {
  return {
    file,
    status: 'unreadable',
    steps: 0,
    failures: [],
    ms: 0,
    output: [],
    place: { channel: '#test', private: false },
    changes: [],
    updates: [],
  };
}

/**
 * Runs one transcript's text (named `file`; a `; config:` header is relative to it) on a bot of
 * its own; with `update`, the rewritten lines are in `updates` (the file is not touched here).
 */
export async function runText(
  text: string,
  file: string,
  options: Pick<SuiteOptions, 'config' | 'configFor' | 'update'>,
): Promise<FileOutcome & { updates: { line: number; text: string }[] }> {
  const started = performance.now();
  const outcome = emptyOutcome(file);
  const done = () => ({ ...outcome, ms: Math.round(performance.now() - started) });
  let transcript: ReturnType<typeof readTranscript>;
  try {
    transcript = readTranscript(text, file);
  } catch (error) {
    if (!(error instanceof TranscriptSyntaxError)) throw error;
    outcome.error = error.message;
    return done();
  }
  const { header, steps } = transcript;
  outcome.place = header.place;
  const dataDir = await mkdtemp(join(tmpdir(), 'virtbot-transcript-'));
  try {
    const configFile = header.config !== undefined ? resolve(dirname(file), header.config) : options.config;
    let config: Config;
    const people = new People(header.people, header.transport);
    try {
      config = people.apply(await options.configFor(configFile, dataDir), header);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      outcome.error = `${file}: ${error.message}`;
      return done();
    }
    const bot = await createApp(config, { logger: pino({ level: 'silent' }) });
    try {
      const result = await runTranscript(steps, {
        handler: bot.handle,
        place: header.place,
        transport: header.transport,
        people,
        botNick: config.bot.nick,
        prefix: config.bot.prefix,
        observe: (event) => bot.observe(event),
        render: renderOptionsOf(config, header.place.network ?? ''),
        update: options.update === true,
      });
      Object.assign(outcome, {
        status: result.failures.length === 0 ? 'passed' : 'failed',
        steps: result.steps,
        failures: result.failures,
        output: result.output,
        updates: result.updates,
      });
    } finally {
      await bot.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  return done();
}

/** The bot lines of a run, as `--verbose` shows them. */
export function outputLines(outcome: FileOutcome): string[] {
  return outcome.output.map((o) => `${o.cause}| ${describeLine(o, outcome.place)}`);
}
