/**
 * A real process that holds the audit store open, driven line by line over stdin, for the tests
 * that delete, replace, chown or fill the filesystem under it, or SIGKILL it between begin and
 * finish. It runs the built store (dist/), as `virtbot` would.
 *
 *   begin VM            → "begun ID" | "refused CODE MESSAGE"
 *   finish ID OUTCOME   → "finished ID" | "failed CODE MESSAGE"
 *   stream              → writes records back to back, "ack ID" for each acknowledged, until "stop"
 *   close               → "closed", then exits 0
 * Warnings from the store are printed as "warning CODE MESSAGE".
 */
import { type ChildProcessWithoutNullStreams, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { waitForOutput, withTimeout } from '../harness/util.js';

const SCRIPT = `
import { createInterface } from 'node:readline';
const { AuditLog } = await import(process.env.AUDIT_MODULE);
const log = new AuditLog(JSON.parse(process.env.AUDIT_OPTIONS));
const say = (line) => process.stdout.write(line.replace(/\\n/g, ' ') + '\\n');
log.onWarning((w) => say('warning ' + w.code + ' ' + w.message));
const intent = (vm) => ({ transport: 'irc', network: 'libera', channel: '#ops', user: 'alice', nick: 'alice',
  proof: 'irc-account', command: 'vm stop ' + vm, path: 'vm.stop', host: 'test', vm, args: { vm } });
let streaming = false;
let n = 0;
async function stream() {
  while (streaming) {
    const id = 'rec-' + process.pid + '-' + n++;
    try {
      await log.record({ id, time: new Date().toISOString(), transport: 'irc', network: 'libera', channel: '#ops',
        user: 'alice', nick: 'alice', proof: 'irc-account', command: 'vm info test', path: 'vm.info', outcome: 'ok', detail: 'running' });
      say('ack ' + id);
    } catch (error) {
      say('nack ' + id + ' ' + (error.code ?? '') + ' ' + error.message);
    }
  }
  say('stopped');
}
for await (const line of createInterface({ input: process.stdin })) {
  const [command, a, b] = line.trim().split(' ');
  if (command === 'begin') {
    try { say('begun ' + (await log.begin(intent(a)))); }
    catch (error) { say('refused ' + error.code + ' ' + error.message); }
  } else if (command === 'finish') {
    try { await log.finish(a, { outcome: b, detail: 'done' }); say('finished ' + a); }
    catch (error) { say('failed ' + error.code + ' ' + error.message); }
  } else if (command === 'stream') { streaming = true; stream(); }
  else if (command === 'stop') { streaming = false; }
  else if (command === 'close') { await log.close(); say('closed'); process.exit(0); }
}
`;

export interface StoreChild {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  send(line: string): void;
  /** The first output line (from now on, or since `from`) matching `pattern`. */
  next(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves when `count` lines matching `pattern` have been printed in all. */
  count(pattern: RegExp, count: number, ms?: number): Promise<void>;
}

export function startStoreChild(
  options: Record<string, unknown>,
  spawnOptions: Pick<SpawnOptions, 'uid' | 'gid'> = {},
): StoreChild {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    ...spawnOptions,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      AUDIT_MODULE: pathToFileURL(resolve('dist/src/audit/log.js')).href,
      AUDIT_OPTIONS: JSON.stringify(options),
    },
  }) as ChildProcessWithoutNullStreams;
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) lines.push(`exited ${code}: ${stderr}`);
  });
  return {
    child,
    lines,
    send: (line) => child.stdin.write(`${line}\n`),
    next: (pattern, ms = 10_000) => waitForOutput(child, pattern, ms, `child output ${pattern}`),
    count: async (pattern, count, ms = 20_000) => {
      const seen = () => lines.filter((l) => pattern.test(l)).length;
      const deadline = Date.now() + ms;
      while (seen() < count) {
        if (Date.now() > deadline) throw new Error(`only ${seen()} of ${count} lines matching ${pattern}`);
        if (child.exitCode !== null) throw new Error(`child exited: ${lines.slice(-3).join(' | ')}`);
        await withTimeout(once(child.stdout, 'data'), Math.max(1, deadline - Date.now()), `${pattern}`).catch(
          () => {},
        );
      }
    },
  };
}
