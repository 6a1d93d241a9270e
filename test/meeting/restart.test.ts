import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/types.js';
import { journalPath } from '../../src/meeting/journal.js';
import { harness, minutesBase, PLACE_KEY } from './helpers.js';

const op: AuditRecord = {
  id: '7',
  time: new Date(Date.UTC(2024, 0, 15, 10, 0, 6)).toISOString(),
  transport: 'irc',
  network: 'libera',
  channel: '#virt',
  user: 'bob',
  nick: 'bob',
  proof: 'irc-account',
  command: 'vm start web01',
  path: 'vm.start',
  outcome: 'failed',
  detail: 'domain is already running',
};

describe('an open meeting survives a restart', () => {
  it('goes on after a new MeetingManager opens the same dataDir, and the minutes have every line', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting Release planning');
    await h.say('alice', '#meetingname release');
    await h.say('alice', '#chair bob');
    await h.say('alice', '#topic Before the restart');
    await h.say('bob', '#action bob to tag 1.0');
    await h.manager.recordOperation(PLACE_KEY, op, 'bob: vm start web01 → failed: domain is already running');
    await h.say('alice', '#startvote Ship on Friday? Yes, No');
    await h.say('bob', '#vote Yes');
    await h.say('carol', 'chatter before the crash');
    expect(existsSync(journalPath(h.dataDir, PLACE_KEY))).toBe(true);
    // No close(): the process dies. A torn last write is in the journal too.
    appendFileSync(journalPath(h.dataDir, PLACE_KEY), '{"k":"line","n":"carol","x":"half a li');

    const m2 = h.restart();
    expect(m2.restored).toEqual([PLACE_KEY]);
    const m = m2.meeting(PLACE_KEY)!;
    expect(m.ownerNick()).toBe('alice');
    expect(m.name).toBe('release');
    expect(m.isChairNick('bob')).toBe(true);
    expect(m.currentTopic).toBe('Before the restart');
    expect([...m.vote!.votes.values()].find((v) => v.nick === 'bob')?.option).toBe('Yes');

    // The meeting goes on: bob is still a chair, the vote is still open.
    expect(await h.texts('bob', '#topic After the restart')).toEqual([
      'Current topic: After the restart (Meeting topic: Release planning)',
    ]);
    await h.say('carol', '#vote no');
    await h.say('carol', '#info carol was here all along');
    expect(await h.texts('alice', '#endvote')).toEqual([
      'Voted on "Ship on Friday?" Results are',
      'Yes (1): bob',
      'No (1): carol',
    ]);
    const end = await h.texts('bob', '#endmeeting');
    expect(end[0]).toMatch(/^Meeting ended Mon Jan 15 10:00:13 2024 UTC\./);
    expect(existsSync(journalPath(h.dataDir, PLACE_KEY))).toBe(false);

    const base = minutesBase(h, 'release');
    const log = readFileSync(`${base}.log.txt`, 'utf8').split('\n').filter(Boolean);
    const said = log.filter((l) => !l.includes('<virtbot>'));
    expect(said).toEqual([
      '10:00:01 <alice> #startmeeting Release planning',
      '10:00:02 <alice> #meetingname release',
      '10:00:03 <alice> #chair bob',
      '10:00:04 <alice> #topic Before the restart',
      '10:00:05 <bob> #action bob to tag 1.0',
      '10:00:06 <alice> #startvote Ship on Friday? Yes, No',
      '10:00:07 <bob> #vote Yes',
      '10:00:08 <carol> chatter before the crash',
      '10:00:09 <bob> #topic After the restart',
      '10:00:10 <carol> #vote no',
      '10:00:11 <carol> #info carol was here all along',
      '10:00:12 <alice> #endvote',
      '10:00:13 <bob> #endmeeting',
    ]);
    // The bot's replies from before the restart are in the log once, not twice.
    expect(log.filter((l) => l.includes('Meeting started')).length).toBe(1);
    // The operation is an item of the minutes, not a line of the log: nobody said it.
    expect(log.join('\n')).not.toContain('vm start web01');

    const txt = readFileSync(`${base}.txt`, 'utf8').replace(/\s+/g, ' ');
    expect(txt).toContain(
      '* Before the restart (alice, 10:00:04) * ACTION: bob to tag 1.0 (bob, 10:00:05) * OPERATION (failed): bob: vm start web01 → failed: domain is already running (bob, 10:00:06)',
    );
    expect(txt).toContain(
      '* After the restart (bob, 10:00:09) * INFO: carol was here all along (carol, 10:00:11) * VOTE: Voted on "Ship on Friday?" Results are: Yes (1): bob; No (1): carol (alice, 10:00:12)',
    );
    expect(txt).toContain(
      'People present (lines said) --------------------------- * alice (6) * bob (4) * carol (3)',
    );
  });

  it('restores nothing after a clean #endmeeting, and close() keeps an open meeting for later', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    await h.say('alice', '#endmeeting');
    expect(h.restart().restored).toEqual([]);
    await h.say('alice', '#startmeeting');
    await h.say('bob', '#info kept');
    await h.manager.close();
    const m = h.restart();
    expect(m.restored).toEqual([PLACE_KEY]);
    expect(m.meeting(PLACE_KEY)!.items.map((i) => i.text)).toEqual(['kept']);
  });

  it('finishes the job when the process died between #endmeeting and the journal removal', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    await h.say('bob', '#info almost done');
    appendFileSync(
      journalPath(h.dataDir, PLACE_KEY),
      `${JSON.stringify({ k: 'line', n: 'alice', x: '#endmeeting', t: h.now() + 1000 })}\n`,
    );
    const m = h.restart();
    expect(m.restored).toEqual([]);
    expect(m.restoredFiles.map((f) => f.slice(f.lastIndexOf('.20')))).toEqual([
      '.2024-01-15-10.00.log.txt',
      '.2024-01-15-10.00.html',
      '.2024-01-15-10.00.txt',
      '.2024-01-15-10.00.md',
      '.2024-01-15-10.00.json',
      '.2024-01-15-10.00.log.html',
    ]);
    expect(readFileSync(`${minutesBase(h)}.txt`, 'utf8')).toContain('INFO: almost done');
    expect(existsSync(journalPath(h.dataDir, PLACE_KEY))).toBe(false);
  });
});
