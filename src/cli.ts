/**
 * virtbot's command line:
 *   virtbot console [--as NAME] [--config FILE]
 *   virtbot test [--config FILE] [--reporter pretty|tap|junit] [--update] [--filter PATTERN] [--jobs N] FILE.chat|DIR…
 *   virtbot replay LOGFILE [--channel '#name'] [--bot-nick NICK] [--out DIR] [--date D] [--tz Z] [--format F] [--minutes-url U] [--strict]
 *   virtbot run --config FILE
 *   virtbot check-config [--skip-secrets] FILE
 *   virtbot audit verify [--config FILE]
 *   virtbot audit export [--config FILE] [--out FILE]
 */
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from './config/schema.js';

// Each subcommand imports what it needs when it runs: `replay` and `docs` must not pay for
// libvirt, the pipeline or the chat libraries at start-up.
const app = () => import('./app.js');

const USAGE = `usage:
  virtbot console [--as NAME] [--config FILE]     talk to virtbot in this terminal
  virtbot test [--config FILE] [--reporter pretty|tap|junit] [--update] [--filter PATTERN]
               [--jobs N] [--verbose] FILE.chat|DIR…
                                                  run transcript tests, several at once (exit 0: all
                                                  passed, 1: some failed, 2: a file is unreadable);
                                                  --update rewrites failing literal >>> / >> lines
                                                  from the replies; --filter: a glob or a substring
  virtbot replay LOGFILE [--channel '#name'] [--bot-nick NICK] [--out DIR] [--date YYYY-MM-DD]
                 [--tz ZONE] [--format irssi|weechat|znc|limnoria|hexchat|quassel|irccloud|virtbot]
                 [--minutes-url URL] [--strict]
                                                  write minutes from an existing IRC log (exit 1 when
                                                  it holds no meeting; --strict: or an unreadable line)
  virtbot run --config FILE                       connect to the configured IRC networks and Discord servers
  virtbot docs [--out FILE]                       print the command reference (Markdown)
  virtbot check-config [--skip-secrets] FILE      check a configuration without starting
  virtbot audit verify [--config FILE]            check the audit log's hash chain
  virtbot audit export [--config FILE] [--out FILE]
                                                  write every audit record as audit.jsonl lines (the
                                                  files' format, from PostgreSQL too), to stdout or FILE
Without --config, virtbot uses its built-in demo: one host 'test' on libvirt's test driver.
Options: --allow-root (run as root although virtbot should not), --help`;

class UsageFailure extends Error {}

async function configFor(
  file: string | undefined,
  dataDir?: string,
): Promise<{ config: Config; demo: boolean }> {
  if (file === undefined) {
    const { demoConfig } = await import('./config/demo.js');
    return { config: demoConfig(dataDir), demo: true };
  }
  const { loadConfigFile } = await import('./config/load.js');
  const config = await loadConfigFile(file);
  if (dataDir !== undefined) config.bot.dataDir = dataDir;
  await checkDataDir(config.bot.dataDir);
  return { config, demo: false };
}

/** An existing data directory virtbot cannot write is a one-line refusal, not a stack trace later. */
async function checkDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new Error(`data directory ${dir} cannot be created: ${(error as NodeJS.ErrnoException).code}`);
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new Error(`data directory ${dir} is not writable: ${(error as NodeJS.ErrnoException).code}`);
  }
}

/** virtbot holds a team's hypervisor keys; it must not also hold root. The demo touches nothing real. */
function refuseRoot(allowRoot: boolean, demo: boolean): void {
  if (process.getuid?.() !== 0 || allowRoot) return;
  if (demo) {
    process.stderr.write('warning: running as root; virtbot should run as an unprivileged user\n');
    return;
  }
  throw new UsageFailure(
    'virtbot refuses to run as root: run it as an unprivileged user (or pass --allow-root)',
  );
}

async function consoleCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { as: { type: 'string' }, config: { type: 'string' }, 'allow-root': { type: 'boolean' } },
  });
  const { config, demo } = await configFor(values.config);
  refuseRoot(values['allow-root'] === true, demo);
  const nick = values.as ?? userInfo().username;
  const [{ createApp }, { runConsole }] = await Promise.all([app(), import('./transports/console.js')]);
  const bot = await createApp(config);
  try {
    if (process.stdin.isTTY) {
      process.stdout.write(
        `virtbot console as ${nick}${demo ? ' (demo: host test on test:///default)' : ''}. Type 'help'; Ctrl-D quits.\n`,
      );
    }
    await runConsole({
      handler: bot.handle,
      nick,
      prefix: config.bot.prefix,
      botNick: config.bot.nick,
      observe: (event) => bot.observe(event),
    });
  } finally {
    await bot.close();
  }
  return 0;
}

/** The transcripts named: files as given, and the `*.chat` files of a folder. */
async function transcriptFiles(paths: string[]): Promise<string[]> {
  const { readdir, stat } = await import('node:fs/promises');
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      const names = (await readdir(path)).filter((name) => name.endsWith('.chat')).sort();
      files.push(...names.map((name) => join(path, name)));
    } else {
      files.push(path); // a file that cannot be read is reported as unreadable
    }
  }
  return files;
}

/** `--filter`: a glob (`*`, `?`) on the file's path or name, or else a substring of its path. */
async function filterFiles(files: string[], filter: string): Promise<string[]> {
  const { basename } = await import('node:path');
  if (!/[*?]/.test(filter)) return files.filter((file) => file.includes(filter));
  const { globToRegExp } = await import('./auth/glob.js');
  const glob = globToRegExp(filter);
  return files.filter((f) => [f, basename(f), basename(f, '.chat')].some((name) => glob.test(name)));
}

async function testCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      reporter: { type: 'string', default: 'pretty' },
      update: { type: 'boolean' },
      filter: { type: 'string' },
      jobs: { type: 'string' },
      'allow-root': { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new UsageFailure('virtbot test needs at least one FILE.chat or folder');
  refuseRoot(values['allow-root'] === true, values.config === undefined);
  const [{ runSuite }, { REPORTERS, reporter }, { formatChanges }] = await Promise.all([
    import('./testing/suite.js'),
    import('./testing/report.js'),
    import('./testing/update.js'),
  ]);
  const name = values.reporter as (typeof REPORTERS)[number];
  if (!REPORTERS.includes(name)) throw new UsageFailure(`--reporter is one of ${REPORTERS.join(', ')}`);
  const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new UsageFailure('--jobs takes a whole number of at least 1');
  let files = await transcriptFiles(positionals);
  if (values.filter !== undefined) {
    files = await filterFiles(files, values.filter);
    if (files.length === 0) throw new UsageFailure(`no transcript matches --filter '${values.filter}'`);
  }
  const report = reporter(name, { verbose: values.verbose === true });
  // Diffs go with a person's report; beside a machine-read one they go to stderr.
  const diffs = name === 'pretty' ? process.stdout : process.stderr;
  const started = Date.now();
  process.stdout.write(report.start(files.length));
  const outcomes = await runSuite(files, {
    ...(values.config !== undefined ? { config: values.config } : {}),
    configFor: async (file, dataDir) => (await configFor(file, dataDir)).config,
    jobs,
    update: values.update === true,
    onOutcome(outcome, index) {
      process.stdout.write(report.file(outcome, index));
      if (outcome.changes.length > 0) diffs.write(formatChanges(outcome.file, outcome.changes));
    },
  });
  process.stdout.write(report.end(outcomes, Date.now() - started));
  if (outcomes.some((o) => o.status === 'unreadable')) return 2;
  return outcomes.every((o) => o.status === 'passed') ? 0 : 1;
}

async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      channel: { type: 'string' },
      'bot-nick': { type: 'string' },
      out: { type: 'string' },
      date: { type: 'string' },
      tz: { type: 'string' },
      format: { type: 'string' },
      'minutes-url': { type: 'string' },
      strict: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageFailure('virtbot replay needs exactly one LOGFILE');
  const { replay, formatReplaySummary } = await import('./meeting/replay.js');
  const options: Parameters<typeof replay>[0] = { logFile: positionals[0]!, outDir: values.out ?? 'minutes' };
  if (values.channel !== undefined) options.channel = values.channel;
  if (values['bot-nick'] !== undefined) options.botNick = values['bot-nick'];
  if (values.date !== undefined) options.date = values.date;
  if (values.tz !== undefined) options.tz = values.tz;
  if (values.format !== undefined) options.format = values.format;
  if (values['minutes-url'] !== undefined) options.minutesUrl = values['minutes-url'];
  const result = await replay(options);
  process.stdout.write(`${formatReplaySummary(result)}\n`);
  if (result.meetings.length === 0) {
    process.stderr.write('virtbot: no meeting found in the log\n');
    return 1;
  }
  if (values.strict === true && result.unreadableCount > 0) {
    process.stderr.write(`virtbot: --strict: ${result.unreadableCount} unreadable lines\n`);
    return 1;
  }
  return 0;
}

async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, 'allow-root': { type: 'boolean' } },
  });
  if (values.config === undefined)
    throw new UsageFailure('virtbot run needs --config FILE (see config/example.yaml)');
  const { config } = await configFor(values.config);
  refuseRoot(values['allow-root'] === true, false);
  const { runService } = await import('./service.js');
  // The file is read again on SIGHUP.
  return runService(config, { configFile: values.config });
}

async function docsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } } });
  const { CommandRegistry } = await import('./command/registry.js');
  const { commandReference } = await import('./command/docs.js');
  const { allGroups } = await import('../commands/index.js');
  const text = commandReference(new CommandRegistry(allGroups()));
  if (values.out === undefined) process.stdout.write(text);
  else await writeFile(values.out, text);
  return 0;
}

async function checkConfigCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'skip-secrets': { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageFailure('virtbot check-config needs exactly one FILE');
  const file = positionals[0]!;
  const { checkConfigFile, formatFindings } = await import('./config/load.js');
  const { report } = await checkConfigFile(file, { secrets: values['skip-secrets'] !== true });
  for (const line of formatFindings(file, report.errors).split('\n').filter(Boolean))
    process.stdout.write(`error: ${line}\n`);
  for (const line of formatFindings(file, report.warnings).split('\n').filter(Boolean))
    process.stdout.write(`warning: ${line}\n`);
  const counts = `${report.errors.length} error${report.errors.length === 1 ? '' : 's'}, ${report.warnings.length} warning${report.warnings.length === 1 ? '' : 's'}`;
  process.stdout.write(
    report.errors.length === 0 ? `${file}: ok (${counts})\n` : `${file}: refused (${counts})\n`,
  );
  return report.errors.length === 0 ? 0 : 1;
}

async function auditCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'verify' && sub !== 'export')
    throw new UsageFailure(`virtbot audit ${sub ?? ''}: the audit commands are 'verify' and 'export'`);
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string' }, ...(sub === 'export' ? { out: { type: 'string' } } : {}) },
  });
  let config: Config;
  if (values.config === undefined) config = (await configFor(undefined)).config;
  else {
    // Reading the log needs no chat secrets (the store's URL is read when the store is opened).
    const { checkConfigFile } = await import('./config/load.js');
    config = (await checkConfigFile(values.config, { secrets: false })).config;
  }
  const { exportAudit, openAuditForReading } = await import('./store/audit-export.js');
  if (sub === 'export') {
    const out = typeof values.out === 'string' ? values.out : undefined;
    if (out === undefined) {
      await exportAudit(config, process.stdout);
      return 0;
    }
    const { createWriteStream } = await import('node:fs');
    const stream = createWriteStream(out, { mode: 0o600 });
    const n = await exportAudit(config, stream);
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    process.stderr.write(`exported ${n} record${n === 1 ? '' : 's'} to ${out}\n`);
    return 0;
  }
  const opened = await openAuditForReading(config);
  const report = await opened.audit.verify().finally(() => opened.close());
  if (report.ok) {
    const where = config.store.postgres
      ? `PostgreSQL (${opened.where})`
      : `${report.files} file${report.files === 1 ? '' : 's'}`;
    process.stdout.write(
      `ok: ${report.records} records in ${where}, the chain is whole` +
        `${report.unchained > 0 ? ` (${report.unchained} from before the chain)` : ''}\n`,
    );
    return 0;
  }
  const first = report.first!;
  process.stdout.write(
    `broken: ${first.file}:${first.line}${first.id !== undefined ? ` (record ${first.id})` : ''}: ${first.problem}\n`,
  );
  for (const p of report.problems.slice(1))
    process.stdout.write(
      `  also ${p.file}:${p.line}${p.id !== undefined ? ` (record ${p.id})` : ''}: ${p.problem}\n`,
    );
  process.stdout.write(
    `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${report.records} records, ${report.files} files\n`,
  );
  return 1;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  console: consoleCommand,
  test: testCommand,
  replay: replayCommand,
  run: runCommand,
  docs: docsCommand,
  'check-config': checkConfigCommand,
  audit: auditCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const handler = COMMANDS[command];
  try {
    if (!handler) throw new UsageFailure(`unknown command '${command}'`);
    return await handler(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`virtbot: ${message}\n`);
    if (error instanceof UsageFailure || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    return 1;
  }
}
