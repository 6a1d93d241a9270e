/**
 * Meeting journals in PostgreSQL (src/store/postgres/journal.ts): a meeting run by one virtbot,
 * whose process stops without closing anything, is reopened by another one (its own pool) and
 * goes on; the minutes have every line; the journal goes at #endmeeting. The first writer can
 * no longer write once another continued; a store that is down keeps the entries queued.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeetingManager } from '../../src/meeting/manager.js';
import { JournalLost, PostgresJournalStore } from '../../src/store/postgres/journal.js';
import { postgresSkipReason, privatePostgresSuite } from '../harness/postgres.js';
import { harness, minutesBase, PLACE_KEY } from '../meeting/helpers.js';

const skip = postgresSkipReason();

describe.skipIf(skip !== undefined)(`PostgreSQL meeting journals${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const pg = privatePostgresSuite({ beforeAll, afterAll }, 'journal');
  const poolOn = (url: string) => pg.pool(url);
  const database = () => pg.database();
  const server = {
    stop: () => pg.server.stop(),
    start: () => pg.server.start(),
  };

  it('is continued by another virtbot: the minutes have every line, and the journal goes at the end', async () => {
    const url = await database();
    const storeA = new PostgresJournalStore({ pool: poolOn(url) });
    const h = harness({ journals: storeA });
    await h.say('alice', '#startmeeting Failover');
    await h.say('alice', '#chair bob');
    await h.say('alice', '#topic Before');
    await h.say('bob', '#action bob to check the leases');
    await h.say('carol', 'chatter on the first virtbot');
    const writerA = (
      h.manager as unknown as { open: Map<string, { journal: { flush(): Promise<void> } }> }
    ).open.get(PLACE_KEY)!.journal;

    // The first virtbot dies (nothing closed); another, with its own connections, takes over.
    const storeB = new PostgresJournalStore({ pool: poolOn(url) });
    const b = new MeetingManager({
      dataDir: h.dataDir,
      minutesDir: h.minutesDir,
      botNick: 'virtbot',
      minutesUrl: 'https://meetings.example.org',
      fsync: false,
      journals: storeB,
    });
    expect(b.restored).toEqual([]);
    expect(await b.resume('irc:other:')).toEqual([]);
    expect(await b.resume('irc:libera:')).toEqual([PLACE_KEY]);
    h.manager = b;
    expect(b.meeting(PLACE_KEY)!.isChairNick('bob')).toBe(true);
    await h.say('bob', '#topic After');
    await h.say('carol', 'chatter on the second virtbot');

    // The first one, were it still running, may not write a second history into the journal.
    (writerA as unknown as { append(e: unknown): void }).append({ k: 'line', n: 'x', x: 'stale', t: 1 });
    await expect(writerA.flush()).rejects.toBeInstanceOf(JournalLost);

    await h.say('bob', '#endmeeting');
    const log = readFileSync(`${minutesBase(h)}.log.txt`, 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(log.filter((l) => !l.includes('<virtbot>'))).toEqual([
      '10:00:01 <alice> #startmeeting Failover',
      '10:00:02 <alice> #chair bob',
      '10:00:03 <alice> #topic Before',
      '10:00:04 <bob> #action bob to check the leases',
      '10:00:05 <carol> chatter on the first virtbot',
      '10:00:06 <bob> #topic After',
      '10:00:07 <carol> chatter on the second virtbot',
      '10:00:08 <bob> #endmeeting',
    ]);
    expect(log.filter((l) => l.includes('Meeting started')).length).toBe(1);
    // Removal runs after the last flush; give it a moment, then nothing is open.
    await expect.poll(async () => (await storeB.read('')).length).toBe(0);
  });

  it('keeps entries queued while the store is down, and writes them, in order, when it is back', async () => {
    const url = await database();
    const store = new PostgresJournalStore({ pool: poolOn(url) });
    const writer = store.create('irc:net:#down');
    writer.append({ k: 'meeting', v: 2, place: 'irc:net:#down', channel: '#down' });
    writer.append({ k: 'line', n: 'alice', x: 'one', t: 1 });
    await writer.flush();
    await server.stop();
    try {
      writer.append({ k: 'line', n: 'alice', x: 'two', t: 2 });
      await expect(writer.flush()).rejects.toThrow(/cannot be written: the PostgreSQL store is unreachable/);
      writer.append({ k: 'line', n: 'alice', x: 'three', t: 3 });
    } finally {
      await server.start();
    }
    await writer.flush();
    const [file] = await store.read('irc:net:');
    expect(file!.entries.map((e) => (e.k === 'line' ? e.x : e.k))).toEqual(['one', 'two', 'three']);
    expect(file!.stored!.next).toBe(4);
    // Nobody flushes: what is appended is written anyway, soon (a bot's own lines come this way).
    writer.append({ k: 'line', n: 'virtbot', x: 'said by the bot', t: 5, b: 1 });
    await expect
      .poll(async () => (await store.read('irc:net:'))[0]!.entries.map((e) => (e.k === 'line' ? e.x : e.k)))
      .toEqual(['one', 'two', 'three', 'said by the bot']);
    // A new meeting in the same place replaces the old open journal.
    const again = store.create('irc:net:#down');
    again.append({ k: 'meeting', v: 2, place: 'irc:net:#down', channel: '#down' });
    await again.flush();
    const files = await store.read('irc:net:');
    expect(files.length).toBe(1);
    expect(files[0]!.entries).toEqual([]);
    writer.append({ k: 'line', n: 'a', x: 'late', t: 4 });
    await expect(writer.flush()).rejects.toBeInstanceOf(JournalLost);
  });
});
