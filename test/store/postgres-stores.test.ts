/**
 * The stores several instances share in PostgreSQL, each instance on its own pool: a confirmation
 * code taken exactly once whichever instance is asked, and approved through another; a task
 * whose instance died handed to exactly one other; a VM locked across instances; instances
 * seen as gone only when their lock is free.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConfirmationStore, type StoredInvocation } from '../../src/auth/confirmation-store.js';
import { PostgresConfirmationStore } from '../../src/store/postgres/confirmations.js';
import { Presence } from '../../src/store/postgres/presence.js';
import { PostgresTaskStore } from '../../src/store/postgres/tasks.js';
import { VmLocks, vmLockKey } from '../../src/store/postgres/vm-locks.js';
import type { TaskRecord } from '../../src/tasks/runner.js';
import { postgresSkipReason, privatePostgresSuite } from '../harness/postgres.js';

const skip = postgresSkipReason();

const invocation = (code: string, over: Partial<StoredInvocation> = {}): StoredInvocation => ({
  code,
  path: ['vm', 'stop'],
  args: { vm: 'web01', force: false },
  line: 'vm stop web01',
  requester: 'user:alice',
  placeKey: 'irc:net:#ops',
  place: { transport: 'irc', network: 'net', channel: '#ops', private: false },
  who: { user: 'alice', nick: 'alice', proof: 'irc-account' },
  expiresAt: Date.now() + 60_000,
  approvals: [],
  ...over,
});

const task = (id: number, over: Partial<TaskRecord> = {}): TaskRecord => ({
  id,
  title: `clone web0${id}`,
  command: `vm clone web0${id} copy`,
  path: 'vm.clone',
  who: { user: 'alice', nick: 'alice', proof: 'irc-account' },
  place: { transport: 'irc', network: 'net', channel: '#ops', private: false },
  placeKey: 'irc:net:#ops',
  startedAt: new Date().toISOString(),
  state: 'running',
  ...over,
});

describe.skipIf(skip !== undefined)(`PostgreSQL shared stores${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const pg = privatePostgresSuite({ beforeAll, afterAll }, 'stores');
  const closing: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closing) await close();
  });

  async function presence(url: string, instance: string, graceMs = 0): Promise<Presence> {
    const p = new Presence(pg.pool(url, instance), {
      url,
      instance,
      max: 1,
      connectTimeoutMs: 1000,
      heartbeatMs: 200,
      graceMs,
    });
    await p.start();
    closing.push(() => p.close());
    return p;
  }

  it('behaves as the memory store does, step for step', async () => {
    const url = await pg.database();
    const stores = [new MemoryConfirmationStore(), new PostgresConfirmationStore(pg.pool(url))];
    const steps = async (s: (typeof stores)[number]) => {
      const out: unknown[] = [];
      out.push(await s.add(invocation('AAAAAA')));
      out.push(await s.add(invocation('AAAAAA')));
      const e = await s.get('AAAAAA');
      out.push(e?.state, e?.version, e?.invocation.args);
      out.push(await s.update('AAAAAA', 2, invocation('AAAAAA', { line: 'stale' })));
      out.push(await s.update('AAAAAA', 1, invocation('AAAAAA', { line: 'approved' })));
      out.push((await s.get('AAAAAA'))?.invocation.line);
      out.push(await s.take('AAAAAA', 1));
      out.push((await s.take('AAAAAA', 2))?.line);
      out.push(await s.get('AAAAAA'));
      out.push(await s.add(invocation('BBBBBB', { expiresAt: 1000 })));
      out.push(await s.add(invocation('CCCCCC', { expiresAt: 5000 })));
      out.push((await s.sweep(2000)).map((i) => i.code));
      out.push((await s.sweep(2000)).map((i) => i.code));
      out.push((await s.get('BBBBBB'))?.state);
      out.push(await s.take('BBBBBB', 2));
      out.push(await s.lapse('CCCCCC', 2), await s.lapse('CCCCCC', 1), await s.lapse('CCCCCC', 1));
      return out;
    };
    const [memory, postgres] = [await steps(stores[0]!), await steps(stores[1]!)];
    expect(postgres).toEqual(memory);
    expect(memory).toContain('approved');
  });

  it('lets exactly one of many takes across instances win', async () => {
    const url = await pg.database();
    const a = new PostgresConfirmationStore(pg.pool(url, 'a', 8));
    const b = new PostgresConfirmationStore(pg.pool(url, 'b', 8));
    for (let round = 0; round < 5; round++) {
      const code = `RACE${round}X`;
      expect(await a.add(invocation(code))).toBe(true);
      const { version } = (await b.get(code))!;
      const takes = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).take(code, version)),
      );
      expect(takes.filter((t) => t !== undefined).length).toBe(1);
      // Sweeps racing each other: each lapse to one caller.
      await a.add(invocation(`${code}L`, { expiresAt: 1 }));
      const swept = await Promise.all([a.sweep(Date.now()), b.sweep(Date.now()), a.sweep(Date.now())]);
      expect(swept.flat().map((i) => i.code)).toEqual([`${code}L`]);
    }
  });

  it('tells the instances that are gone: lock free and unseen for the grace period', async () => {
    const url = await pg.database();
    const a = await presence(url, 'alpha');
    const b = await presence(url, 'beta');
    await expect(presence(url, 'alpha')).rejects.toThrow(/another running virtbot is named alpha/);
    expect(await a.dead()).toEqual([]);
    await b.close();
    expect(await a.dead()).toEqual(['beta']);
    const c = await presence(url, 'gamma', 60_000);
    const d = await presence(url, 'delta', 60_000);
    await d.close();
    // Seen a moment ago: not gone yet for an instance with a long grace, though their locks are free.
    expect(await c.dead()).toEqual([]);
    expect((await a.dead()).sort()).toEqual(['beta', 'delta']);
  });

  it('hands a task whose instance died to exactly one other, and lists every instance’s tasks', async () => {
    const url = await pg.database();
    const pa = await presence(url, 'ta');
    const pb = await presence(url, 'tb');
    const pc = await presence(url, 'tc');
    const store = (p: Presence) =>
      new PostgresTaskStore({
        pool: pg.pool(url, p.instance),
        instance: p.instance,
        dead: () => p.dead(),
        pollMs: 100,
      });
    const [a, b, c] = [store(pa), store(pb), store(pc)];
    closing.push(async () => {
      for (const s of [a, b, c]) s.close();
    });
    const seenByB: TaskRecord[] = [];
    b.watch((t) => seenByB.push(t));
    const id = await a.nextId();
    const mine = task(id);
    await a.save([mine], mine);
    const done = task(await a.nextId(), { state: 'done', result: 'ok' });
    await a.save([mine, done], done);
    await expect.poll(() => seenByB.map((t) => t.id).sort()).toEqual([id, done.id].sort());
    expect((await c.load()).map((t) => t.id)).toEqual([id, done.id]);
    // Alive: nobody takes a's task.
    expect(await b.orphans([])).toEqual([]);
    await pa.close();
    const taken = await Promise.all([b.orphans([]), c.orphans([]), b.orphans([])]);
    expect(taken.flat().map((t) => t.id)).toEqual([id]);
    // The one that took it writes it now; a's later writes would not be seen as its own.
    const owner = taken.findIndex((t) => t.length === 1) === 1 ? c : b;
    await owner.save([], { ...mine, state: 'unknown', result: 'outcome unknown' });
    expect((await a.load()).find((t) => t.id === id)?.state).toBe('unknown');
  });

  it('locks one VM across instances, and only that VM', async () => {
    const url = await pg.database();
    const a = new VmLocks(pg.pool(url, 'la', 2));
    const b = new VmLocks(pg.pool(url, 'lb', 2));
    expect(vmLockKey('lab', 'web01')).toBe(vmLockKey('lab', 'web01'));
    expect(vmLockKey('lab', 'web01')).not.toBe(vmLockKey('lab2', 'web01'));
    const order: string[] = [];
    let release!: () => void;
    const holding = a.with('lab', 'web01', async () => {
      order.push('a in');
      await new Promise<void>((r) => {
        release = r;
      });
      order.push('a out');
    });
    await expect.poll(() => order).toEqual(['a in']);
    const waiting = b.with('lab', 'web01', async () => {
      order.push('b in');
    });
    // Another VM is not held up.
    await b.with('lab', 'web02', async () => {
      order.push('other vm');
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(['a in', 'other vm']);
    release();
    await Promise.all([holding, waiting]);
    expect(order).toEqual(['a in', 'other vm', 'a out', 'b in']);
  });

  it('survives PostgreSQL stopping while a change holds a VM lock, and locks again once it is back', async () => {
    const url = await pg.database();
    const locks = new VmLocks(pg.pool(url, 'lx', 2));
    const crashes: unknown[] = [];
    const onError = (error: unknown) => crashes.push(error);
    process.on('uncaughtException', onError);
    try {
      const done = await locks.with('lab', 'web09', async () => {
        await pg.server.stop();
        // The session's end reaches the client while the change is still running.
        await new Promise((r) => setTimeout(r, 300));
        return 'changed';
      });
      expect(done).toBe('changed');
      await expect(locks.with('lab', 'web09', async () => 'again')).rejects.toThrow(
        /cannot lock web09 on lab across instances: the PostgreSQL store is unreachable/,
      );
    } finally {
      await pg.server.start();
      process.off('uncaughtException', onError);
    }
    expect(crashes).toEqual([]);
    await expect
      .poll(() => locks.with('lab', 'web09', async () => 'again').catch(() => 'no'), { timeout: 10_000 })
      .toBe('again');
  });
});
