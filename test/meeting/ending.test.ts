/** No stuck meetings: the late #endmeeting, an admin's `meeting end`, and the idle sweep. */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { group } from '../../commands/meeting.js';
import type { CommandContext } from '../../src/command/spec.js';
import { journalPath } from '../../src/meeting/journal.js';
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

function ctx(services: Record<string, unknown>): CommandContext {
  return {
    identity: { user: 'root', groups: [], roles: ['admin'], proof: 'irc-account', nick: 'root' },
    services,
    placeKey: 'irc:libera:root',
    place: { transport: 'irc', network: 'libera', channel: 'root', private: true },
    now: () => new Date(),
  } as unknown as CommandContext;
}

describe('meeting end CHANNEL (from anywhere)', () => {
  const end = group.commands.find((c) => c.path.join(' ') === 'meeting end')!;
  const list = group.commands.find((c) => c.path.join(' ') === 'meeting list')!;

  it('ends the meeting, writes the minutes, and hands the channel its notice through sweep', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting Stuck');
    await h.say('bob', '#info before the end');
    expect((await list.run(ctx({ meetings: h.manager }), {})).lines).toEqual([
      'libera/#virt: started by alice at 2024-01-15 10:00 UTC, 5 lines',
    ]);
    await expect(end.run(ctx({ meetings: h.manager }), { channel: '#nowhere' })).rejects.toThrow(
      'no meeting is open in #nowhere (open: libera/#virt)',
    );
    const r = await end.run(ctx({ meetings: h.manager }), { channel: 'libera/#VIRT' });
    expect(r.reply).toMatch(/^ended the meeting in libera\/#virt \(started by alice/);
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
  });

  it('says so when the meetings engine is not there', async () => {
    await expect(end.run(ctx({}), { channel: '#virt' })).rejects.toThrow(
      'the meetings engine is not running',
    );
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
