/**
 * The audit store against real filesystem trouble: a full disk (a 400 KiB tmpfs), the file
 * deleted or replaced under a running process, a root-owned file left in the data directory, and
 * a process SIGKILLed between begin and finish.
 */
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, readRecords } from '../../src/audit/log.js';
import { AuditUnavailable, type AuditWarning } from '../../src/audit/store.js';
import type { AuditRecord } from '../../src/core/types.js';
import { withTimeout } from '../harness/util.js';
import { startStoreChild } from './child.js';
import { fill, IS_ROOT, type Mounted, mountTmpfs, ROOT_REASON } from './mounts.js';
import { intent } from './records.js';

async function allRecords(log: AuditLog): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (const f of await log.files()) for await (const r of readRecords(f)) out.push(r);
  return out;
}

function nextWarning(log: AuditLog, code: AuditWarning['code'], ms = 10_000): Promise<AuditWarning> {
  let off: (() => void) | undefined;
  const seen = new Promise<AuditWarning>((resolve) => {
    off = log.onWarning((w) => {
      if (w.code === code) resolve(w);
    });
  });
  return withTimeout(seen, ms, `audit warning '${code}'`).finally(() => off?.());
}

describe.skipIf(!IS_ROOT)(`a full disk: dataDir on a 400 KiB tmpfs${ROOT_REASON}`, () => {
  let mount: Mounted;
  beforeEach(async () => {
    mount = await mountTmpfs(400);
  });
  afterEach(async () => mount.unmount());

  it('refuses intents below the free-space threshold, fails every queued write at once on ENOSPC, and recovers by itself', async () => {
    const file = join(mount.dir, 'data', 'audit.jsonl');
    const log = new AuditLog({ file, minFreeBytes: 96 * 1024, probeMs: 20 });
    const warnings: AuditWarning[] = [];
    log.onWarning((w) => warnings.push(w));
    // Something else on the filesystem that the admin will delete to make room.
    await writeFile(join(mount.dir, 'ballast'), Buffer.alloc(160 * 1024, 0x62));
    // The pipeline's part, at the store level: a command runs only once begin resolved.
    const executed: string[] = [];
    let inFlight: string | undefined;
    let refused: unknown;
    for (let i = 0; i < 10_000 && refused === undefined; i++) {
      try {
        const id = await log.begin({ ...intent(`vm${i}`), args: { pad: 'p'.repeat(1500) } });
        executed.push(id);
        if (inFlight === undefined)
          inFlight = id; // stays open: its outcome comes later
        else await log.finish(id, { outcome: 'ok', detail: 'stopped' });
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(AuditUnavailable);
    expect(refused).toMatchObject({ code: 'low-space' });
    expect((refused as Error).message).toMatch(/nearly full .* below 96\.0 KiB\): nothing new is started$/);
    expect(warnings.map((w) => w.code)).toContain('low-space');
    // Below the threshold the outcome of a command already running still goes in.
    await log.finish(inFlight!, { outcome: 'in-progress', detail: 'waiting for libvirt' });

    // Now nothing at all fits: writes fail with ENOSPC, promptly, and the process lives on.
    await fill(join(mount.dir, 'filler'));
    let failure: unknown;
    for (let i = 0; i < 200 && failure === undefined; i++) {
      await log.finish(inFlight!, { outcome: 'in-progress', detail: `still waiting ${i}` }).catch((error) => {
        failure = error;
      });
    }
    expect(failure).toBeInstanceOf(AuditUnavailable);
    expect(failure).toMatchObject({ code: 'ENOSPC' });
    const queued = await withTimeout(
      Promise.allSettled(Array.from({ length: 24 }, (_, i) => log.begin(intent(`queued${i}`)))),
      10_000,
      '24 queued begins to settle',
    );
    expect(queued.map((q) => q.status)).toEqual(Array(24).fill('rejected'));
    expect(queued.every((q) => q.status === 'rejected' && q.reason instanceof AuditUnavailable)).toBe(true);
    expect((await log.health()).available).toBe(false);

    // Space comes back: the probe notices without any write, and writes go through again.
    const back = nextWarning(log, 'available');
    await unlink(join(mount.dir, 'filler'));
    await unlink(join(mount.dir, 'ballast'));
    await back.catch(async () => {
      throw new Error(`no 'available' warning; health: ${JSON.stringify(await log.health())}`);
    });
    await log.finish(inFlight!, { outcome: 'ok', detail: 'stopped at last' });
    await log.close();

    // Every command that ran has its intent on disk; the chain survived the failed writes.
    const records = await allRecords(log);
    const intents = new Set(records.filter((r) => r.kind === 'intent').map((r) => r.id));
    expect(executed.filter((id) => !intents.has(id))).toEqual([]);
    expect(records.filter((r) => r.vm?.startsWith('queued'))).toEqual([]);
    expect(records.at(-1)).toMatchObject({ intent: inFlight, outcome: 'ok' });
    expect(await log.verify()).toMatchObject({ ok: true, problems: [] });
  });

  it('the application logger on a full filesystem neither crashes nor blocks, and says what it dropped', async () => {
    const logFile = join(mount.dir, 'virtbot.log');
    await fill(join(mount.dir, 'filler'));
    const script = `
      const { createLogger } = await import(${JSON.stringify(new URL('../../dist/src/core/logger.js', import.meta.url).href)});
      const { unlinkSync } = await import('node:fs');
      const loggers = [false, true].map((sync) => createLogger({ file: ${JSON.stringify(logFile)}, sync, retryMs: 0 }));
      for (const logger of loggers) {
        for (let i = 0; i < 5000; i++) logger.info({ i, pad: 'x'.repeat(200) }, 'a line on a full disk');
        await new Promise((resolve) => logger.flush(resolve));
      }
      process.stdout.write('alive\\n');
      unlinkSync(${JSON.stringify(join(mount.dir, 'filler'))});
      for (const logger of loggers) {
        logger.info('a line after space came back');
        await new Promise((resolve) => logger.flush(resolve));
      }
      process.stdout.write('done\\n');
    `;
    const { execFile } = await import('node:child_process');
    const ran = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { timeout: 30_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(ran).toMatchObject({ code: 0, stdout: 'alive\ndone\n' });
    expect(ran.stderr).toMatch(/^virtbot: the log file .*virtbot\.log cannot be written \(ENOSPC\)/);
    expect(ran.stderr).not.toMatch(/Unhandled|\n\s+at /);
    const text = await readFile(logFile, 'utf8');
    expect(text).toContain('a line after space came back');
    expect(text).toMatch(/\d+ log lines were dropped while .*virtbot\.log could not be written \(ENOSPC\)/);
  });
});

describe('the audit file deleted or replaced under a running process', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-unlink-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('loses no acknowledged record, moves a replacement aside, records both events, and the chain verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const child = startStoreChild({ file, minFreeBytes: 0, probeMs: 0 });
    child.send('stream');
    await child.count(/^ack /, 50);
    await unlink(file);
    await child.count(/^warning deleted /, 1);
    await child.count(/^ack /, 150);
    await writeFile(join(dir, 'foreign'), '{"id":"forged","note":"not virtbot\'s"}\n');
    await rename(join(dir, 'foreign'), file);
    await child.count(/^warning replaced /, 1).catch((e) => {
      throw new Error(
        `${e}: ${child.lines
          .filter((l) => !l.startsWith('ack'))
          .slice(0, 4)
          .join(' | ')} ${child.lines.length}`,
      );
    });
    await child.count(/^ack /, 250);
    child.send('stop');
    await child.count(/^stopped$/, 1);
    child.send('close');
    await child.count(/^closed$/, 1);

    const acknowledged = child.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
    expect(child.lines.filter((l) => l.startsWith('nack '))).toEqual([]);
    const log = new AuditLog({ file, minFreeBytes: 0 });
    const records = await allRecords(log);
    const ids = new Set(records.map((r) => r.id));
    expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
    expect(records.filter((r) => r.kind === 'event').map((r) => r.command)).toEqual([
      'audit deleted',
      'audit replaced',
    ]);
    expect(ids.has('forged')).toBe(false);
    const aside = (await readdir(dir)).filter((n) => n.startsWith('audit.jsonl-replaced-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, aside[0]!), 'utf8')).toContain('"forged"');
    expect(await log.verify()).toMatchObject({ ok: true, problems: [] });
    // history sees what was written before the deletion
    const newest = await log.query({ limit: 1000 });
    expect(newest.some((r) => r.id === acknowledged[0])).toBe(true);
  });
});

describe.skipIf(!IS_ROOT)(`an audit file virtbot cannot write${ROOT_REASON}`, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-owner-'));
    await chmod(dir, 0o755);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('a root-owned audit.jsonl left in dataDir: begin is refused, a warning raised, and it recovers once fixed', async () => {
    const data = join(dir, 'data');
    await mkdir(data, { mode: 0o700 });
    await chown(data, 65534, 65534);
    const file = join(data, 'audit.jsonl');
    await writeFile(file, '', { mode: 0o600 }); // root's
    const child = startStoreChild({ file, minFreeBytes: 0, probeMs: 20 }, { uid: 65534, gid: 65534 });
    child.send('begin web01');
    const refused = await child.next(/^refused /);
    expect(refused).toBe(`refused EACCES the audit log ${file} cannot be opened for writing: EACCES`);
    expect(child.lines.some((l) => l.startsWith('warning unavailable '))).toBe(true);
    await chown(file, 65534, 65534);
    await child.count(/^warning available /, 1);
    child.send('begin web01');
    const begun = await child.next(/^begun /);
    child.send('close');
    await child.count(/^closed$/, 1);
    const records: AuditRecord[] = [];
    for await (const r of readRecords(file)) records.push(r);
    // Exactly one intent: the refused attempt left nothing, the later one is there.
    expect(records.map((r) => [r.kind, r.id])).toEqual([['intent', begun.slice('begun '.length)]]);
  });
});

describe('SIGKILL between begin and finish', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-sigkill-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('a restart reports every intent left open and records its outcome as unknown; no acknowledged record is lost', async () => {
    const file = join(dir, 'audit.jsonl');
    const runs = 5;
    const begun: string[] = [];
    const acknowledged: string[] = [];
    for (let run = 0; run < runs; run++) {
      const child = startStoreChild({ file, minFreeBytes: 0, probeMs: 0 });
      child.send(`begin web0${run}`);
      begun.push((await child.next(/^begun /)).slice('begun '.length));
      child.send('stream');
      await child.count(/^ack /, 20 + run * 37);
      const exited = new Promise((resolve) => child.child.once('exit', resolve));
      child.child.kill('SIGKILL');
      await exited;
      acknowledged.push(...child.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4)));
    }
    const warnings: AuditWarning[] = [];
    const log = new AuditLog({ file, minFreeBytes: 0, probeMs: 0 });
    log.onWarning((w) => warnings.push(w));
    const checked: string[] = [];
    const report = await log.recover(async (i) => {
      checked.push(i.vm!);
      return `${i.vm} is shut off`;
    });
    expect(report.unresolved.map((r) => r.id)).toEqual(begun);
    expect(report.recorded).toBe(runs);
    expect(checked).toEqual(Array.from({ length: runs }, (_, i) => `web0${i}`));
    expect(warnings.filter((w) => w.code === 'unknown-outcome')).toHaveLength(runs);
    const history = await log.query({ vm: 'web03' });
    expect(history.map((r) => [r.outcome, r.detail])).toEqual([
      ['unknown', 'virtbot stopped before the outcome was recorded; the host shows: web03 is shut off'],
    ]);
    await log.close();
    const ids = new Set((await allRecords(log)).map((r) => r.id));
    expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
    // A torn last line from a kill mid-write is reported by verify, never read as a record.
    const report2 = await log.verify();
    expect(report2.problems.every((p) => /torn|corrupt/.test(p.problem))).toBe(true);
  });
});
