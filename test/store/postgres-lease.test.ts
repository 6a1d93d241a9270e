/**
 * Leases on chat connections and inbound claims against a private PostgreSQL: one holder at a
 * time, a stopped holder handed over at once and a silent one after its time to live, a holder
 * cut off from the database giving up before the server hands the lease on, claims made once
 * and only under the current epoch, and unanswered claims of a dead holder found once.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/core/types.js';
import { ClaimKeys, claim, markAnswered, takeOrphans } from '../../src/store/postgres/claim.js';
import { ConnectionLease } from '../../src/store/postgres/lease.js';
import { postgresSkipReason, privatePostgresSuite } from '../harness/postgres.js';
import { withTimeout } from '../harness/util.js';

const skip = postgresSkipReason();
const CHECK_MS = 100;

interface Events {
  acquired: number[];
  lost: string[];
  /** Local times (ms) of each acquisition and loss. */
  at: { what: 'acquired' | 'lost'; t: number }[];
}

function lease(pool: pg.Pool, name: string, holder: string, events: Events): ConnectionLease {
  return new ConnectionLease({
    pool,
    name,
    holder,
    checkMs: CHECK_MS,
    onAcquired: (epoch) => {
      events.acquired.push(epoch);
      events.at.push({ what: 'acquired', t: Date.now() });
    },
    onLost: (reason) => {
      events.lost.push(reason);
      events.at.push({ what: 'lost', t: Date.now() });
    },
  });
}

const newEvents = (): Events => ({ acquired: [], lost: [], at: [] });

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  await withTimeout(
    (async () => {
      while (!ok()) await new Promise((r) => setTimeout(r, 10));
    })(),
    ms,
    what,
  );
}

const line = (over: Partial<InboundMessage> = {}): InboundMessage => ({
  place: { transport: 'irc', network: 'net', channel: '#ops', private: false },
  sender: { nick: 'alice', hostmask: 'alice!a@h' },
  text: 'vm list',
  time: new Date('2026-12-01T10:00:01Z'),
  addressed: true,
  ...over,
});

describe.skipIf(skip !== undefined)(
  `connection leases and inbound claims${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const suite = privatePostgresSuite({ beforeAll, afterAll }, 'lease_');
    /** A pool on a fresh, migrated database (and its URL, for more pools on it). */
    let url = '';
    async function freshPool(): Promise<pg.Pool> {
      url = await suite.database();
      return suite.pool(url);
    }

    it('gives the connection to one instance; a stopped holder hands it over at its next check', async () => {
      const pool = await freshPool();
      const ea = newEvents();
      const eb = newEvents();
      const a = lease(pool, 'irc:net', 'A', ea);
      a.start();
      await until('A holds', () => a.holding);
      const b = lease(pool, 'irc:net', 'B', eb);
      b.start();
      // Several checks of B: it never takes the lease A renews.
      await new Promise((r) => setTimeout(r, CHECK_MS * 5));
      expect(b.holding).toBe(false);
      expect(eb.acquired).toEqual([]);
      expect(a.holding).toBe(true);
      const stoppedAt = Date.now();
      await a.stop();
      expect(ea.lost).toEqual(['this instance is stopping']);
      await until('B holds', () => b.holding);
      expect(Date.now() - stoppedAt).toBeLessThan(CHECK_MS * 3);
      // A new holder is a new epoch.
      expect(eb.acquired[0]).toBeGreaterThan(ea.acquired[0]!);
      await b.stop();
    });

    it('hands a holder cut off from the database on only after it expired, and the cut-off one stopped speaking first', async () => {
      const pool = await freshPool();
      // A's own pool of one connection: holding that connection here cuts A off, and only A.
      const poolA = suite.pool(url, 'A', 1);
      const ea = newEvents();
      const eb = newEvents();
      const a = lease(poolA, 'irc:net', 'A', ea);
      a.start();
      await until('A holds', () => a.holding);
      const b = lease(pool, 'irc:net', 'B', eb);
      b.start();
      await new Promise((r) => setTimeout(r, CHECK_MS * 2));
      const cut = await poolA.connect();
      const cutAt = Date.now();
      try {
        await until('A gives up', () => ea.lost.length > 0, 3000);
        expect(ea.lost[0]).toBe('the lease could not be renewed in time');
        expect(a.holding).toBe(false);
        await until('B holds', () => b.holding, 3000);
      } finally {
        cut.release();
      }
      const lostAt = ea.at.find((e) => e.what === 'lost')!.t;
      const tookAt = eb.at.find((e) => e.what === 'acquired')!.t;
      // Fencing: A stopped before B started, and within the lease's life of being cut off.
      expect(lostAt).toBeLessThan(tookAt);
      expect(lostAt - cutAt).toBeLessThan(CHECK_MS * 3);
      await new Promise((r) => setTimeout(r, CHECK_MS * 3));
      // A, reachable again, finds B's lease and stays a follower.
      expect(a.holding).toBe(false);
      expect(b.holding).toBe(true);
      await Promise.all([a.stop(), b.stop()]);
    });

    it('takes over from a holder that vanished without a word within its time to live and one check', async () => {
      const pool = await freshPool();
      // A holder that died: its row, renewed just now, and nobody renewing it any more.
      await pool.query(
        `INSERT INTO leases (name, holder, epoch, expires_at) VALUES ('irc:net', 'dead', 7, now() + interval '300 milliseconds')`,
      );
      const eb = newEvents();
      const b = lease(pool, 'irc:net', 'B', eb);
      const t0 = Date.now();
      b.start();
      await until('B holds', () => b.holding, 3000);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(300 + CHECK_MS * 3);
      expect(eb.acquired).toEqual([8]);
      await b.stop();
    });

    it('gives a takeover that failed up, and tries again at its next check', async () => {
      const pool = await freshPool();
      const acquired: number[] = [];
      const lost: string[] = [];
      let failures = 1;
      const a = new ConnectionLease({
        pool,
        name: 'irc:net',
        holder: 'A',
        checkMs: CHECK_MS,
        onAcquired: (epoch) => {
          acquired.push(epoch);
          if (failures-- > 0) throw new Error('the meetings could not be read');
        },
        onLost: (reason) => {
          lost.push(reason);
        },
      });
      a.start();
      await until('A holds after a second try', () => acquired.length === 2 && a.holding);
      expect(lost).toEqual(['taking the connection over failed']);
      expect(acquired[1]).toBe(acquired[0]! + 1);
      await a.stop();
    });

    it('claims a line once, and only under the current epoch', async () => {
      const pool = await freshPool();
      const ea = newEvents();
      const a = lease(pool, 'irc:net', 'A', ea);
      a.start();
      await until('A holds', () => a.holding);
      const who = { connection: 'irc:net', holder: 'A', epoch: a.epoch! };
      const keys = new ClaimKeys('irc:net');
      const other = new ClaimKeys('irc:net');
      const msg = line();
      const key = keys.key(msg);
      // Another instance hearing the same line computes the same key.
      expect(other.key(msg)).toBe(key);
      expect(await claim(pool, who, key, msg)).toBe(true);
      expect(await claim(pool, who, key, msg)).toBe(false);
      // The same words said again in the same bucket are a second line, not a duplicate.
      const again = keys.key(msg);
      expect(again).not.toBe(key);
      expect(await claim(pool, who, again, msg)).toBe(true);
      // An IRCv3 msgid is the key when there is one.
      expect(keys.key(line({ id: 'abc' }))).toBe('irc:net id abc');
      // Not the holder, or an old epoch: no claim.
      const fresh = keys.key(line({ text: 'vm info x' }));
      expect(await claim(pool, { ...who, holder: 'B' }, fresh, msg)).toBe(false);
      expect(await claim(pool, { ...who, epoch: who.epoch - 1 }, fresh, msg)).toBe(false);
      expect(await claim(pool, who, fresh, msg)).toBe(true);
      await a.stop();
      // Once the lease is gone, nothing can be claimed under it.
      expect(await claim(pool, who, keys.key(line({ text: 'late' })), msg)).toBe(false);
    });

    it('finds the unanswered lines of an earlier holder once, and leaves the answered ones', async () => {
      const pool = await freshPool();
      const ea = newEvents();
      const a = lease(pool, 'irc:net', 'A', ea);
      a.start();
      await until('A holds', () => a.holding);
      const whoA = { connection: 'irc:net', holder: 'A', epoch: a.epoch! };
      const keys = new ClaimKeys('irc:net');
      const answered = line({ text: 'vm list' });
      const unanswered = line({ text: 'vm start web01' });
      const chatter = line({ text: 'hello', addressed: false });
      const k1 = keys.key(answered);
      const k2 = keys.key(unanswered);
      const k3 = keys.key(chatter);
      for (const [k, m] of [
        [k1, answered],
        [k2, unanswered],
        [k3, chatter],
      ] as const)
        expect(await claim(pool, whoA, k, m)).toBe(true);
      await markAnswered(pool, k1);
      await a.stop();
      const eb = newEvents();
      const b = lease(pool, 'irc:net', 'B', eb);
      b.start();
      await until('B holds', () => b.holding);
      const whoB = { connection: 'irc:net', holder: 'B', epoch: b.epoch! };
      const orphans = await takeOrphans(pool, whoB);
      expect(orphans.map((o) => [o.text, o.nick, o.instance, o.place.channel])).toEqual([
        ['vm start web01', 'alice', 'A', '#ops'],
      ]);
      expect(await takeOrphans(pool, whoB)).toEqual([]);
      await b.stop();
    });
  },
);
