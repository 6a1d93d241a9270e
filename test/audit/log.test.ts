import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, readRecords } from '../../src/audit/log.js';
import type { AuditRecord } from '../../src/core/types.js';

let dir: string;
let file: string;
let clock: Date;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-audit-'));
  file = join(dir, 'audit.jsonl');
  clock = new Date('2026-11-25T23:59:00Z');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const record = (n: number, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  id: `r${n}`,
  time: clock.toISOString(),
  transport: 'console',
  network: '',
  channel: '#ops',
  user: n % 3 === 0 ? null : `user${n % 5}`,
  nick: `nick${n % 7}`,
  proof: n % 3 === 0 ? 'anonymous' : 'local',
  command: `probe info vm${n % 11}`,
  path: 'probe.info',
  outcome: n % 4 === 0 ? 'denied' : 'ok',
  detail: `detail ${n} ${'x'.repeat(n % 50)}`,
  vm: `vm${n % 11}`,
  host: n % 2 === 0 ? 'test' : 'prod-1',
  ...extra,
});

async function everything(log: AuditLog): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (const f of await log.files()) for await (const r of readRecords(f)) out.push(r);
  return out;
}

describe('audit log rotation', () => {
  it('loses nothing and keeps the order under many concurrent appends across size rotations', async () => {
    const log = new AuditLog({ file, rotateBytes: 4096, rotateDaily: true, now: () => clock });
    const total = 3000;
    // Waves of concurrent appends, so that group commits and rotations interleave; midnight passes halfway.
    for (let wave = 0; wave < 30; wave++) {
      if (wave === 15) clock = new Date('2026-11-26T00:00:30Z');
      await Promise.all(
        Array.from({ length: total / 30 }, (_, i) => log.append(record(wave * (total / 30) + i))),
      );
    }
    await log.close();
    const files = await log.files();
    expect(files.length).toBeGreaterThanOrEqual(30);
    const all = await everything(log);
    expect(all.map((r) => r.id)).toEqual(Array.from({ length: total }, (_, i) => `r${i}`));
    // No file grew past the limit: a batch larger than the room left is split at the boundary.
    for (const f of files) expect((await stat(f)).size).toBeLessThanOrEqual(4096);
    const names = (await readdir(dir)).filter((n) => n !== '.audit.jsonl.head');
    expect(names.every((n) => n === 'audit.jsonl' || /^audit\.jsonl\.\d{8}T\d{6}(-\d{6})?$/.test(n))).toBe(
      true,
    );
  });

  it('sorts more than nine same-second rotations in rotation order', async () => {
    const log = new AuditLog({ file, rotateBytes: 300, now: () => clock });
    for (let i = 0; i < 40; i++) await log.append(record(i));
    await log.close();
    const rotated = (await log.files()).filter((f) => f !== file);
    expect(rotated.length).toBeGreaterThan(10);
    expect((await everything(log)).map((r) => r.id)).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
  });

  it('rotates when the UTC day changes, and the query spans the files', async () => {
    const log = new AuditLog({ file, rotateDaily: true, now: () => clock });
    await log.append(record(1));
    await log.append(record(2));
    clock = new Date('2026-11-26T00:00:01Z');
    await log.append(record(3, { time: clock.toISOString() }));
    expect(await log.files()).toEqual([join(dir, 'audit.jsonl.20261126T000001'), file]);
    expect((await log.query({})).map((r) => r.id)).toEqual(['r3', 'r2', 'r1']);
    expect((await log.query({ since: new Date('2026-11-26T00:00:00Z') })).map((r) => r.id)).toEqual(['r3']);
    await log.close();
  });

  it('queries consistently while appends rotate the files underneath', async () => {
    const log = new AuditLog({ file, rotateBytes: 2048, now: () => clock });
    for (let i = 0; i < 200; i++) await log.append(record(i));
    const writers = Promise.all(Array.from({ length: 400 }, (_, i) => log.append(record(200 + i))));
    const seen = await Promise.all(Array.from({ length: 8 }, () => log.query({ limit: 1000 })));
    await writers;
    for (const result of seen) {
      // Each answer is a gapless newest-first run down to r0: nothing hidden by a rotation.
      const ids = result.map((r) => Number(r.id.slice(1)));
      expect(ids.at(-1)).toBe(0);
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => ids[0]! - i));
    }
    expect((await log.query({ limit: 1000 })).length).toBe(600);
    await log.close();
  });
});

describe('audit log crash safety', () => {
  it('keeps the first record after a torn last line intact', async () => {
    await writeFile(file, `${JSON.stringify(record(1))}\n{"id":"torn","ti`);
    const log = new AuditLog({ file, now: () => clock });
    await log.append(record(2));
    await log.append(record(3));
    await log.close();
    expect((await everything(log)).map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    expect(await readFile(file, 'utf8')).toMatch(/"ti\n\{"id":"r2"/);
  });

  it('rejects an append it cannot write, and recovers once it can', async () => {
    const blocked = join(dir, 'not-a-dir');
    await writeFile(blocked, 'a file where the log directory should be');
    const log = new AuditLog({ file: join(blocked, 'audit.jsonl'), now: () => clock });
    await expect(log.append(record(1))).rejects.toThrow(/ENOTDIR|EEXIST/);
    await rm(blocked);
    await log.append(record(2));
    await log.close();
    expect((await everything(log)).map((r) => r.id)).toEqual(['r2']);
  });
});

describe('audit query filters', () => {
  it('filters by vm, host, user (identity, or the nick of unidentified senders), since, limit', async () => {
    const log = new AuditLog({ file, now: () => clock });
    await log.append(record(1, { user: 'alice', nick: 'alice', vm: 'web01', host: 'test' }));
    await log.append(record(2, { user: 'bob', nick: 'alice', vm: 'web02', host: 'test' }));
    await log.append(
      record(3, { user: null, nick: 'alice', vm: 'web01', host: 'prod-1', time: '2026-11-26T01:00:00.000Z' }),
    );
    const ids = async (f: Parameters<AuditLog['query']>[0]) => (await log.query(f)).map((r) => r.id);
    expect(await ids({ vm: 'web01' })).toEqual(['r3', 'r1']);
    expect(await ids({ host: 'test' })).toEqual(['r2', 'r1']);
    // bob using the nick alice is not alice.
    expect(await ids({ user: 'alice' })).toEqual(['r3', 'r1']);
    expect(await ids({ user: 'bob' })).toEqual(['r2']);
    expect(await ids({ since: new Date('2026-11-26T00:00:00Z') })).toEqual(['r3']);
    expect(await ids({ limit: 2 })).toEqual(['r3', 'r2']);
    await log.close();
  });

  it('skips whole rotated files older than since, and stops reading once it has enough', async () => {
    const log = new AuditLog({ file, now: () => clock });
    // Reading this 'file' would fail (it is a directory): the query must not open its contents.
    await mkdir(join(dir, 'audit.jsonl.20200101T000000'));
    await log.append(record(1));
    expect((await log.query({ since: new Date('2026-01-01T00:00:00Z') })).map((r) => r.id)).toEqual(['r1']);
    expect((await log.query({ limit: 1 })).map((r) => r.id)).toEqual(['r1']);
    await log.close();
  });
});
