import { mkdtemp, open, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forwardLines, reverseLines } from '../../src/audit/lines.js';
import { AuditLog } from '../../src/audit/log.js';
import { renderItem } from '../../src/audit/render.js';
import type { AuditWarning } from '../../src/audit/store.js';
import type { AuditRecord } from '../../src/core/types.js';
import { intent } from './records.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-store-'));
  file = join(dir, 'audit.jsonl');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const single = (n: number): Omit<AuditRecord, 'id'> => ({
  time: new Date(Date.UTC(2026, 10, 25, 12, 0, n)).toISOString(),
  transport: 'console',
  network: '',
  channel: '#console',
  user: 'bob',
  nick: 'bob',
  proof: 'local',
  command: `vm info vm${n}`,
  path: 'vm.info',
  outcome: 'ok',
  detail: `record ${n}`,
  vm: `vm${n}`,
});

async function rawLines(path = file): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
}

function store(extra: Partial<ConstructorParameters<typeof AuditLog>[0]> = {}): AuditLog {
  return new AuditLog({ file, minFreeBytes: 0, probeMs: 0, ...extra });
}

describe('write-ahead records', () => {
  it('begin resolves once the intent is on disk; finish links the outcome to it; query shows the latest', async () => {
    const log = store();
    const id = await log.begin(intent('web01'));
    // Durable before begin resolved: the line is in the file, read by another handle.
    const [line] = await rawLines();
    expect(JSON.parse(line!)).toMatchObject({
      id,
      kind: 'intent',
      command: 'vm stop web01',
      path: 'vm.stop',
      host: 'test',
      vm: 'web01',
      args: { vm: 'web01' },
      seq: 1,
    });
    expect((await log.query({}))[0]).toMatchObject({
      id,
      outcome: 'in-progress',
      detail: 'no outcome recorded yet',
    });
    await log.finish(id, { outcome: 'in-progress', detail: 'waiting for libvirt' });
    await log.finish(id, { outcome: 'ok', detail: 'web01 is shut off' });
    const lines = (await rawLines()).map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.map((r) => [r.kind, r.intent, r.outcome])).toEqual([
      ['intent', undefined, 'in-progress'],
      ['outcome', id, 'in-progress'],
      ['outcome', id, 'ok'],
    ]);
    // The outcome is self-contained (filters by vm and user find it), without the arguments.
    expect(lines[2]).toMatchObject({ user: 'alice', vm: 'web01', host: 'test', command: 'vm stop web01' });
    expect(lines[2]!.args).toBeUndefined();
    const history = await log.query({ vm: 'web01' });
    expect(history.map((r) => [r.intent, r.outcome, r.detail])).toEqual([[id, 'ok', 'web01 is shut off']]);
    await log.close();
  });

  it('record writes one self-contained record and append keeps working for existing callers', async () => {
    const log = store();
    const id = await log.record(single(1));
    await log.append({ ...single(2), id: 'legacy-caller' });
    expect((await log.query({})).map((r) => [r.id, r.kind])).toEqual([
      ['legacy-caller', 'single'],
      [id, 'single'],
    ]);
    await log.close();
  });

  it('cuts a huge command or detail so that a record stays small, and says so', async () => {
    const log = store({ rotateBytes: 3000 });
    const id = await log.record({ ...single(1), command: `vm info ${'x'.repeat(1_000_000)}` });
    const [line] = await rawLines();
    expect(line!.length).toBeLessThan(3000);
    const [record] = await log.query({});
    expect(record).toMatchObject({ id });
    expect(record!.command).toMatch(/… \[cut: 1000008 characters, sha256 [0-9a-f]{16}\]$/);
    await log.close();
  });
});

describe('recovery of intents without an outcome', () => {
  it('reports each, records unknown with what the checker found, once', async () => {
    const first = store();
    const stopped = await first.begin(intent('web01'));
    const done = await first.begin(intent('web02'));
    await first.finish(done, { outcome: 'ok', detail: 'stopped' });
    const waiting = await first.begin(intent('web03'));
    await first.finish(waiting, { outcome: 'in-progress', detail: 'waiting for the event' });
    await first.close(); // as if it crashed: no outcome for web01, none final for web03

    const warnings: AuditWarning[] = [];
    const second = store();
    second.onWarning((w) => warnings.push(w));
    const asked: string[] = [];
    const report = await second.recover(async (i) => {
      asked.push(i.vm!);
      if (i.vm === 'web03') throw new Error('host unreachable');
      return `${i.vm} is shut off`;
    });
    expect(report.unresolved.map((r) => r.id)).toEqual([stopped, waiting]);
    expect(report.recorded).toBe(2);
    expect(asked).toEqual(['web01', 'web03']);
    expect(warnings.filter((w) => w.code === 'unknown-outcome').map((w) => w.message)).toEqual([
      expect.stringContaining('alice: vm stop web01'),
      expect.stringContaining('alice: vm stop web03'),
    ]);
    const history = await second.query({});
    expect(history.map((r) => renderItem(r))).toEqual([
      'alice: vm stop web03 → outcome unknown: virtbot stopped before the outcome was recorded; the host shows: the check failed: host unreachable',
      'alice: vm stop web01 → outcome unknown: virtbot stopped before the outcome was recorded; the host shows: web01 is shut off',
      'alice: vm stop web02 → ok: stopped',
    ]);
    expect((await second.recover()).unresolved).toEqual([]);
    await second.close();
    const third = store();
    expect((await third.recover()).unresolved).toEqual([]);
    await third.close();
  });

  it('finds an intent whose outcome is missing in the rotated file before the current one', async () => {
    const first = store({ rotateBytes: 1500 });
    const id = await first.begin(intent('web01'));
    for (let i = 0; i < 10; i++) await first.record(single(i));
    await first.close();
    expect((await first.files()).length).toBeGreaterThan(2);
    const second = store({ rotateBytes: 1500 });
    const report = await second.recover();
    // Only the current file and the newest rotated one are read: the intent is older than that.
    expect(report.unresolved.map((r) => r.id)).toEqual([]);
    await second.close();

    const third = store({ rotateBytes: 100_000 });
    const late = await third.begin(intent('web09'));
    await third.close();
    await rename(file, `${file}.20990101T000000`);
    const fourth = store();
    expect((await fourth.recover()).unresolved.map((r) => r.id)).toEqual([late]);
    expect(id).not.toBe(late);
    await fourth.close();
  });
});

describe('the hash chain', () => {
  async function writeRecords(n: number, rotateBytes?: number): Promise<AuditLog> {
    const log = store(rotateBytes !== undefined ? { rotateBytes } : {});
    for (let i = 1; i <= n; i++) await log.record({ ...single(i), id: `r${i}` });
    await log.close();
    return log;
  }

  it('verifies a log written across rotations, the first record of each file linking to the last of the one before', async () => {
    const log = await writeRecords(30, 1200);
    const files = await log.files();
    expect(files.length).toBeGreaterThan(3);
    const report = await log.verify();
    expect(report).toMatchObject({ ok: true, files: files.length, records: 30, unchained: 0, problems: [] });
    const firstOfSecond = JSON.parse((await rawLines(files[1]))[0]!) as AuditRecord;
    const lastOfFirst = JSON.parse((await rawLines(files[0])).at(-1)!) as AuditRecord;
    expect(firstOfSecond.prev).toBe(lastOfFirst.hash);
    expect(firstOfSecond.seq).toBe(lastOfFirst.seq! + 1);
  });

  it('names an edited record', async () => {
    const log = await writeRecords(5);
    const lines = await rawLines();
    lines[2] = lines[2]!.replace('"detail":"record 3"', '"detail":"record 3, nothing to see"');
    await writeFile(file, `${lines.join('\n')}\n`);
    const report = await log.verify();
    expect(report.ok).toBe(false);
    expect(report.first).toEqual({
      file,
      line: 3,
      id: 'r3',
      problem: 'edited: the record does not match its own hash',
    });
  });

  it('names the record after a removed one', async () => {
    const log = await writeRecords(5);
    const lines = await rawLines();
    lines.splice(2, 1);
    await writeFile(file, `${lines.join('\n')}\n`);
    const report = await log.verify();
    expect(report.first).toMatchObject({ file, line: 3, id: 'r4' });
    expect(report.first!.problem).toMatch(/^records removed: seq 3 missing after .*audit\.jsonl:2/);
  });

  it('names reordered records', async () => {
    const log = await writeRecords(5);
    const lines = await rawLines();
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    await writeFile(file, `${lines.join('\n')}\n`);
    const report = await log.verify();
    expect(report.first).toMatchObject({ file, line: 2, id: 'r3' });
    expect(report.problems.map((p) => p.line)).toContain(3);
    expect(report.problems.find((p) => p.line === 3)!.problem).toMatch(/^out of order: seq 2 after seq 3/);
  });

  it('notices a whole rotated file removed from the middle', async () => {
    const log = await writeRecords(30, 1200);
    const files = await log.files();
    await unlink(files[1]!);
    const report = await log.verify();
    expect(report.first).toMatchObject({ file: files[2], line: 1 });
    expect(report.first!.problem).toMatch(/^records removed/);
  });

  it('notices records cut from the end while virtbot was stopped, and keeps the gap visible', async () => {
    await writeRecords(5);
    const lines = await rawLines();
    await writeFile(file, `${lines.slice(0, 3).join('\n')}\n`);
    const warnings: AuditWarning[] = [];
    const log = store();
    log.onWarning((w) => warnings.push(w));
    await log.record({ ...single(6), id: 'r6' });
    await log.close();
    expect(warnings.map((w) => w.code)).toContain('truncated');
    const report = await log.verify();
    expect(report.first).toMatchObject({ line: 4, id: 'r6' });
    expect(report.first!.problem).toMatch(/^records removed: seq 4–5 missing/);
  });

  it('reports corrupt and torn lines with their line numbers at start-up and in verify, and keeps them', async () => {
    await writeRecords(3);
    const lines = await rawLines();
    await writeFile(file, `${lines[0]}\nnot json at all\n${lines[1]}\n${lines[2]}\n{"id":"torn","ti`);
    const warnings: AuditWarning[] = [];
    const log = store();
    log.onWarning((w) => warnings.push(w));
    await log.open();
    expect(warnings.filter((w) => w.code === 'corrupt-line').map((w) => [w.line, w.message])).toEqual([
      [2, expect.stringMatching(/audit\.jsonl:2: corrupt line \(not JSON/)],
      [5, expect.stringMatching(/audit\.jsonl:5: torn last line/)],
    ]);
    let report = await log.verify();
    expect(report.problems.map((p) => [p.line, p.problem.split(':')[0]])).toEqual([
      [2, 'corrupt line'],
      [5, 'torn last line (an unfinished write)'],
    ]);
    // The chain itself is whole: the records around the bad lines still link.
    await log.record({ ...single(4), id: 'r4' });
    await log.close();
    report = await log.verify();
    expect(report.records).toBe(4);
    expect(report.problems.map((p) => p.line)).toEqual([2, 5]);
    expect(await readFile(file, 'utf8')).toContain('{"id":"torn","ti\n{');
  });

  it('counts records from before the chain and links the first chained one to the last of them', async () => {
    const legacy = [1, 2].map((n) => JSON.stringify({ ...single(n), id: `old${n}` }));
    await writeFile(file, `${legacy.join('\n')}\n`);
    const log = store();
    await log.record({ ...single(3), id: 'r3' });
    await log.close();
    expect(await log.verify()).toMatchObject({ ok: true, records: 3, unchained: 2 });
    expect((await log.query({})).map((r) => r.id)).toEqual(['r3', 'old2', 'old1']);
  });
});

describe('the line readers', () => {
  const texts = fc.array(
    fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', ' ', '{', '"'), maxLength: 12 }),
    { maxLength: 20 },
  );

  it('read the same lines forwards and backwards, across block boundaries, torn last line included', async () => {
    await fc.assert(
      fc.asyncProperty(
        texts,
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        async (lines, finalNewline, block) => {
          const content = lines.join('\n') + (finalNewline && lines.length > 0 ? '\n' : '');
          await writeFile(file, content);
          const forward: { text: string; complete: boolean; offset: number }[] = [];
          for await (const l of forwardLines(file, block))
            forward.push({ text: l.text, complete: l.complete, offset: l.offset });
          const backward: { text: string; complete: boolean; offset: number }[] = [];
          for await (const l of reverseLines(file, undefined, block)) backward.push(l);
          expect(backward).toEqual([...forward].reverse());
          expect(forward.map((l) => l.text + (l.complete ? '\n' : '')).join('')).toBe(content);
          expect(forward.filter((l) => !l.complete).length).toBe(
            content.length > 0 && !content.endsWith('\n') ? 1 : 0,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads the newest line of a large file from its end without reading the rest', async () => {
    const log = store({ rotateBytes: 1024 ** 3 });
    const filler = 'x'.repeat(1000);
    await Promise.all(
      Array.from({ length: 20_000 }, (_, i) =>
        log.append({ ...single(i % 60), id: `r${i}`, detail: filler }),
      ),
    );
    await log.close();
    const handle = await open(file, 'r');
    const size = (await handle.stat()).size;
    expect(size).toBeGreaterThan(20_000_000);
    let bytesRead = 0;
    const counting = new Proxy(handle, {
      get(target, key) {
        if (key === 'read')
          return async (...args: Parameters<typeof handle.read>) => {
            const result = await (target.read as (...a: unknown[]) => ReturnType<typeof handle.read>)(
              ...args,
            );
            bytesRead += result.bytesRead;
            return result;
          };
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const newest: string[] = [];
    for await (const line of reverseLines(counting)) {
      newest.push(line.text);
      if (newest.length === 1) break;
    }
    await handle.close();
    expect(JSON.parse(newest[0]!).id).toBe('r19999');
    expect(bytesRead).toBeLessThanOrEqual(256 * 1024);
    expect((await log.query({ limit: 1 })).map((r) => r.id)).toEqual(['r19999']);
  });
});
