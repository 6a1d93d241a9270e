/**
 * The audit store in PostgreSQL against a private server (test/harness/postgres.ts): write-ahead
 * records, the same hash chain as the files (verify, export read by the files' verifier),
 * history by index and visibility, instances writing at once, recovery of a gone instance's
 * intents, monthly retention, and the store going down and coming back.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFiles } from '../../src/audit/chain.js';
import { AuditUnavailable, type Intent } from '../../src/audit/store.js';
import type { AuditRecord } from '../../src/core/types.js';
import { PostgresAudit } from '../../src/store/postgres/audit.js';
import { createPool } from '../../src/store/postgres/db.js';
import { migrate, readMigrations } from '../../src/store/postgres/migrate.js';
import { PrivatePostgres, postgresSkipReason } from '../harness/postgres.js';

const skip = postgresSkipReason();

const intent = (over: Partial<Intent> = {}): Intent => ({
  transport: 'irc',
  network: 'net',
  channel: '#ops',
  user: 'alice',
  nick: 'alice',
  proof: 'irc-account',
  command: 'vm start web01',
  path: 'vm.start',
  host: 'lab',
  vm: 'web01',
  ...over,
});

const single = (over: Partial<AuditRecord> = {}) => ({
  time: new Date().toISOString(),
  transport: 'irc',
  network: 'net',
  channel: '#ops',
  user: 'bob' as string | null,
  nick: 'bob',
  proof: 'irc-account',
  command: 'vm info web02',
  outcome: 'ok' as const,
  detail: 'running',
  host: 'lab',
  vm: 'web02',
  ...over,
});

describe.skipIf(skip !== undefined)(`PostgreSQL audit store${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: PrivatePostgres;
  const pools: pg.Pool[] = [];
  let n = 0;

  beforeAll(async () => {
    server = new PrivatePostgres();
    await server.start();
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(pools.map((p) => p.end()));
    await server?.dispose();
  });

  async function fresh(options: { instance?: string; retentionMonths?: number; now?: () => Date } = {}) {
    const url = await server.createDatabase(`audit${n++}`);
    return { url, ...(await storeOn(url, options)) };
  }

  async function storeOn(
    url: string,
    options: { instance?: string; retentionMonths?: number; now?: () => Date; dead?: string[] } = {},
  ) {
    const pool = createPool({ url, instance: options.instance ?? 'a', max: 8, connectTimeoutMs: 2000 });
    pools.push(pool);
    await migrate(pool);
    const audit = new PostgresAudit({
      pool,
      instance: options.instance ?? 'a',
      where: url,
      probeMs: 0,
      ...(options.retentionMonths !== undefined ? { retentionMonths: options.retentionMonths } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.dead ? { dead: async () => options.dead! } : {}),
    });
    await audit.open();
    return { pool, audit };
  }

  it('writes intents, outcomes and single records; history shows each operation once, newest first', async () => {
    const { audit } = await fresh();
    const id = await audit.begin(intent());
    await audit.record(single());
    await audit.finish(id, { outcome: 'in-progress', detail: 'starting' });
    await audit.finish(id, { outcome: 'ok', detail: 'started web01' });
    const open = await audit.begin(intent({ vm: 'web03', command: 'vm stop web03', path: 'vm.stop' }));
    const all = await audit.query({});
    expect(all.map((r) => [r.vm, r.outcome, r.detail])).toEqual([
      ['web03', 'in-progress', 'no outcome recorded yet'],
      ['web01', 'ok', 'started web01'],
      ['web02', 'ok', 'running'],
    ]);
    expect(all[0]!.id).toBe(open);
    expect(all.every((r) => r.hash === undefined && r.seq === undefined)).toBe(true);
    expect((await audit.query({ vm: 'web01' })).map((r) => r.intent)).toEqual([id]);
    expect((await audit.query({ user: 'bob' })).map((r) => r.vm)).toEqual(['web02']);
    expect(await audit.query({ host: 'elsewhere' })).toEqual([]);
    expect((await audit.query({ outcome: 'in-progress' } as never)).map((r) => r.vm)).toEqual(['web03']);
    const report = await audit.verify();
    expect(report).toMatchObject({ ok: true, records: 5, problems: [] });
  });

  it('matches a nick only for unidentified senders, and filters by since', async () => {
    const { audit } = await fresh();
    await audit.record(
      single({ user: null, nick: 'carol', time: new Date(Date.now() - 3 * 86_400_000).toISOString() }),
    );
    await audit.record(single({ user: 'carol', nick: 'someone', vm: 'x' }));
    await audit.record(single({ user: 'dave', nick: 'carol', vm: 'y' }));
    expect((await audit.query({ user: 'carol' })).map((r) => [r.user, r.nick])).toEqual([
      ['carol', 'someone'],
      [null, 'carol'],
    ]);
    expect(
      (await audit.query({ user: 'carol', since: new Date(Date.now() - 86_400_000) })).map((r) => r.user),
    ).toEqual(['carol']);
  });

  it('pages through the visibility predicate until the limit is met', async () => {
    const { audit } = await fresh();
    for (let i = 0; i < 300; i++) await audit.record(single({ vm: `vm${i}`, command: `vm info vm${i}` }));
    const asked: string[] = [];
    const seen = await audit.query({
      limit: 4,
      accept: (r) => {
        asked.push(r.vm!);
        return Number(r.vm!.slice(2)) % 50 === 0;
      },
    });
    expect(seen.map((r) => r.vm)).toEqual(['vm250', 'vm200', 'vm150', 'vm100']);
    // Asked newest first, and no further than needed.
    expect(asked[0]).toBe('vm299');
    expect(asked.at(-1)).toBe('vm100');
  });

  it('names an edited record, an edited column and a removed record; export is the JSONL the files verifier reads', async () => {
    const { audit, pool } = await fresh();
    for (let i = 0; i < 6; i++) await audit.record(single({ vm: `v${i}` }));
    const dir = await mkdtemp(join(tmpdir(), 'virtbot-export-'));
    try {
      const lines: string[] = [];
      for await (const line of audit.lines()) lines.push(line);
      await writeFile(join(dir, 'audit.jsonl'), `${lines.join('\n')}\n`);
      expect(await verifyFiles([join(dir, 'audit.jsonl')])).toMatchObject({ ok: true, records: 6 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const client = await pool.connect();
    try {
      // The table refuses changes; a superuser who turns triggers off can still make them.
      await expect(client.query(`UPDATE audit_records SET vm = 'x' WHERE seq = 2`)).rejects.toThrow(
        /append-only/,
      );
      await client.query('SET session_replication_role = replica');
      await client.query(`UPDATE audit_records SET line = replace(line, '"v2"', '"vX"') WHERE seq = 3`);
      await client.query(`UPDATE audit_records SET vm = 'other' WHERE seq = 4`);
      await client.query(`DELETE FROM audit_records WHERE seq = 5`);
    } finally {
      client.release();
    }
    const report = await audit.verify();
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.line, p.problem])).toEqual([
      [3, 'edited: the record does not match its own hash'],
      [4, 'edited: its indexed columns (vm) differ from the sealed record'],
      [
        6,
        expect.stringMatching(
          /^records removed: seq 5 missing after postgresql:audit_records_y\d{4}m\d{2}:4$/,
        ),
      ],
    ]);
  });

  it('keeps one chain when two instances write at once', async () => {
    const { audit: a, url } = await fresh({ instance: 'a' });
    const { audit: b } = await storeOn(url, { instance: 'b' });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 === 0 ? a : b).record(single({ vm: `vm${i}`, detail: `from ${i % 2 === 0 ? 'a' : 'b'}` })),
      ),
    );
    const report = await a.verify();
    expect(report).toMatchObject({ ok: true, records: 200 });
    expect(await b.query({ limit: 500 })).toHaveLength(200);
  });

  it('finishes the open intents of a gone instance as unknown, with what the host shows; never those of a live one', async () => {
    const { audit: gone, url } = await fresh({ instance: 'gone' });
    const lost = await gone.begin(intent({ vm: 'web07', command: 'vm nic add web07 network=default' }));
    const { audit: alive } = await storeOn(url, { instance: 'alive' });
    const running = await alive.begin(intent({ vm: 'web08' }));
    const { audit: after } = await storeOn(url, { instance: 'after', dead: ['gone'] });
    const report = await after.recover(async (r) => `checked: ${r.vm} has 2 NICs`);
    expect(report.unresolved.map((r) => r.id)).toEqual([lost]);
    expect(report.recorded).toBe(1);
    const [shown] = await after.query({ vm: 'web07' });
    expect(shown).toMatchObject({ outcome: 'unknown', intent: lost });
    expect(shown!.detail).toMatch(/the host shows: checked: web07 has 2 NICs/);
    expect((await after.recover()).unresolved).toEqual([]);
    await alive.finish(running, { outcome: 'ok', detail: 'done' });
    expect((await after.query({ vm: 'web08' }))[0]).toMatchObject({ outcome: 'ok' });
  });

  it('drops whole months past retention; the chain is then checked from the last dropped record', async () => {
    const { audit, url } = await fresh();
    const month = (back: number) => {
      const d = new Date();
      d.setUTCDate(15);
      d.setUTCMonth(d.getUTCMonth() - back);
      return d.toISOString();
    };
    for (const back of [6, 5, 5, 1, 0]) await audit.record(single({ time: month(back), detail: `${back}` }));
    const { audit: kept } = await storeOn(url, { retentionMonths: 3 });
    expect((await kept.query({ limit: 10 })).map((r) => r.detail)).toEqual(['0', '1']);
    const report = await kept.verify();
    expect(report).toMatchObject({ ok: true, records: 2 });
    await kept.record(single({ detail: 'after' }));
    expect((await kept.verify()).ok).toBe(true);
  });

  it('refuses intents in one line while PostgreSQL is down, and writes again once it is back', async () => {
    const { audit } = await fresh();
    const warnings: string[] = [];
    audit.onWarning((w) => warnings.push(w.code));
    await audit.record(single());
    await server.stop();
    try {
      const refused = await audit.begin(intent()).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AuditUnavailable);
      expect((refused as Error).message).toMatch(
        /^the audit store cannot record it: the PostgreSQL store is unreachable \(/,
      );
      expect((refused as Error).message).not.toContain('\n');
      expect((await audit.health()).available).toBe(false);
    } finally {
      await server.start();
    }
    const id = await audit.begin(intent());
    await audit.finish(id, { outcome: 'ok', detail: 'started' });
    expect((await audit.verify()).ok).toBe(true);
    expect(warnings).toEqual(['unavailable', 'available']);
  }, 60_000);

  it('migrates once when two instances start together', async () => {
    const url = await server.createDatabase(`audit${n++}`);
    const a = createPool({ url, instance: 'a', max: 2, connectTimeoutMs: 2000 });
    const b = createPool({ url, instance: 'b', max: 2, connectTimeoutMs: 2000 });
    pools.push(a, b);
    const [x, y] = await Promise.all([migrate(a), migrate(b)]);
    // Every migration applied exactly once, by one of the two.
    const all = (await readMigrations()).map((m) => m.version);
    expect([...x, ...y].sort((p, q) => p - q)).toEqual(all);
    const rows = await a.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.rows.map((r) => r.version)).toEqual(all);
  });
});
