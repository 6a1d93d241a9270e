/** No stuck meetings: the late #endmeeting, an admin's `meeting end`, and the idle sweep. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bot.js';
import { validateConfig } from '../../src/config/load.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { journalPath } from '../../src/meeting/journal.js';
import type { MeetingManager } from '../../src/meeting/manager.js';
import { ANONYMOUS, harness, minutesBase, PLACE, PLACE_KEY, T0 } from './helpers.js';

const HOUR = 3_600_000;

describe('the late #endmeeting', () => {
  it('anyone may end a meeting once no chair has spoken for idleEndMinutes', async () => {
    let now = T0;
    const h = harness({ idleEndMinutes: 30, clock: () => new Date(now) });
    await h.say('alice', '#startmeeting');
    // bob talks on, alice is gone (reconnected as alice_ without a NICK the bot saw).
    for (let i = 0; i < 3; i++) await h.say('bob', 'anyone there?');
    expect((await h.texts('bob', '#endmeeting'))[0]).toContain(
      'anyone may end it once no chair has spoken for 30 minutes',
    );
    now = T0 + HOUR;
    const late = await h.manager.observe(
      {
        place: PLACE,
        sender: { nick: 'alice_' },
        text: '#endmeeting',
        time: new Date(T0 + 31 * 60_000),
        addressed: false,
      },
      ANONYMOUS('alice_'),
    );
    expect(late.replies[0]!.text).toMatch(
      /^Meeting ended .* Ended by alice_: no chair had spoken for 30 minutes\./,
    );
    expect(h.manager.meeting(PLACE_KEY)).toBeUndefined();
    expect(h.read(minutesBase(h) + '.txt')).toContain('ended by a participant after no chair had spoken');
  });

  it('with idleEndMinutes 0 only chairs ever end it', async () => {
    const h = harness({ idleEndMinutes: 0 });
    await h.say('alice', '#startmeeting');
    const r = await h.manager.observe(
      {
        place: PLACE,
        sender: { nick: 'bob' },
        text: '#endmeeting',
        time: new Date(T0 + 100 * HOUR),
        addressed: false,
      },
      ANONYMOUS('bob'),
    );
    expect(r.replies[0]!.text).toBe('bob: only the chairs can use #endmeeting (chairs: alice).');
  });
});

/** A real Bot over the harness's meetings engine: `meeting end` and `meeting list` through the pipeline. */
function botOver(manager: MeetingManager | undefined): Bot {
  const config = validateConfig({
    bot: { dataDir: mkdtempSync(join(tmpdir(), 'virtbot-ending-')) },
    hosts: [{ name: 'test', uri: 'test:///default' }],
    users: { root: { irc: { libera: 'root' }, roles: ['admin'] } },
    roles: { admin: { permissions: ['*'] } },
  });
  return new Bot({
    config,
    hosts: new HostRegistry(config),
    logger: pino({ level: 'silent' }),
    ...(manager ? { meetings: manager } : {}),
  });
}

/** root, logged in to services, asks in a private message. */
async function ask(bot: Bot, text: string) {
  return bot.handle({
    place: { transport: 'irc', network: 'libera', channel: 'root', private: true },
    sender: { nick: 'root', account: 'root' },
    text,
    time: new Date(),
    addressed: true,
  });
}

describe('meeting end CHANNEL (from anywhere)', () => {
  it('ends the meeting, writes the minutes, and hands the channel its notice through sweep', async () => {
    const h = harness();
    const bot = botOver(h.manager);
    try {
      await h.say('alice', '#startmeeting Stuck');
      await h.say('bob', '#info before the end');
      expect((await ask(bot, 'meeting list'))[0]!.lines).toEqual([
        'libera/#virt: started by alice at 2024-01-15 10:00 UTC, 5 lines',
      ]);
      expect((await ask(bot, 'meeting end #nowhere'))[0]!.text).toBe(
        'no meeting is open in #nowhere (open: libera/#virt)',
      );
      const [ended] = await ask(bot, 'meeting end libera/#VIRT');
      expect(ended!.text).toMatch(/^ended the meeting in libera\/#virt \(started by alice/);
      expect(h.manager.meeting(PLACE_KEY)).toBeUndefined();
      expect(existsSync(journalPath(h.dataDir, PLACE_KEY))).toBe(false);
      const txt = readFileSync(minutesBase(h) + '.txt', 'utf8');
      expect(txt).toContain('INFO: before the end');
      expect(txt).toContain('(ended by an administrator)');
      const notices = h.manager.sweep(new Date(T0 + HOUR));
      expect(notices).toHaveLength(1);
      expect(notices[0]!.place).toEqual(PLACE);
      expect(notices[0]!.replies[0]!.text).toMatch(/^Meeting ended .* by root \(from elsewhere\)\.$/);
      expect(notices[0]!.replies[1]!.text).toMatch(/^Minutes: +\S+stuck\.2024-01-15-10\.00\.html$/);
      expect(h.manager.sweep(new Date(T0 + HOUR))).toEqual([]);
    } finally {
      await bot.close();
    }
  });

  it('says so when the meetings engine is not there', async () => {
    const bot = botOver(undefined);
    try {
      expect((await ask(bot, 'meeting end #virt'))[0]!.text).toBe('the meetings engine is not running here');
    } finally {
      await bot.close();
    }
  });
});

describe('the idle sweep', () => {
  it('ends a meeting nothing was said in for autoEndHours, with its minutes and a notice, and restores the topic', async () => {
    const h = harness({ autoEndHours: 24 });
    h.manager.onEvent({ type: 'topic', place: PLACE, topic: 'Welcome to #virt', time: new Date(T0) });
    const start = await h.say('alice', '#startmeeting Weekly');
    expect(start[0]!.setTopic).toBe('Weekly');
    await h.say('bob', '#info the last line');
    const last = h.now();
    expect(h.manager.sweep(new Date(last + 23 * HOUR))).toEqual([]);
    const notices = h.manager.sweep(new Date(last + 25 * HOUR));
    expect(notices).toHaveLength(1);
    const [first, ...rest] = notices[0]!.replies;
    expect(first!.text).toContain(
      'Meeting ended automatically: nothing was said for 24 hours since 10:00:02 UTC on 2024-01-15.',
    );
    expect(first!.setTopic).toBe('Welcome to #virt');
    expect(rest.map((r) => r.text)).toEqual([
      'Minutes:        https://meetings.example.org/virt/2024/weekly.2024-01-15-10.00.html',
      'Minutes (text): https://meetings.example.org/virt/2024/weekly.2024-01-15-10.00.txt',
      'Log:            https://meetings.example.org/virt/2024/weekly.2024-01-15-10.00.log.html',
    ]);
    const txt = readFileSync(minutesBase(h) + '.txt', 'utf8');
    expect(txt).toContain('Meeting ended at 10:00:02 UTC (ended automatically');
    expect(h.manager.meeting(PLACE_KEY)).toBeUndefined();
  });

  it('a restart between the automatic end and the writing finishes the job', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    // The journal says it ended; the process died before the files were written.
    const { appendFileSync } = await import('node:fs');
    appendFileSync(
      journalPath(h.dataDir, PLACE_KEY),
      `${JSON.stringify({ k: 'end', by: '', t: h.now(), h: 'idle' })}\n`,
    );
    const m = h.restart();
    expect(m.restored).toEqual([]);
    expect(m.restoredFiles.some((f) => f.endsWith('.json'))).toBe(true);
  });
});
