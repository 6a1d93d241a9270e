import { existsSync, readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/types.js';
import { MEETING_COMMAND_NAMES } from '../../src/meeting/commands.js';
import { journalPath } from '../../src/meeting/journal.js';
import { harness, minutesBase, PLACE, PLACE_KEY, T0 } from './helpers.js';

async function started(extra = {}) {
  const h = harness(extra);
  await h.say('alice', '#startmeeting');
  return h;
}

function record(outcome: AuditRecord['outcome'], nick = 'carol'): AuditRecord {
  return {
    id: '1',
    time: new Date(Date.UTC(2024, 0, 15, 10, 5, 0)).toISOString(),
    transport: 'irc',
    network: 'libera',
    channel: '#virt',
    user: nick,
    nick,
    proof: 'irc-account',
    command: 'vm nic add web01 network=default',
    path: 'vm.nic.add',
    outcome,
    detail: 'added virtio NIC',
  };
}

describe('#startmeeting / #endmeeting', () => {
  it('starts with MeetBot wording and ends with the minutes links', async () => {
    const h = harness();
    const start = await h.texts('alice', '#startmeeting');
    expect(start[0]).toBe(
      'Meeting started Mon Jan 15 10:00:01 2024 UTC.  The chair is alice. Information about virtbot meetings: say #commands for the list of commands.',
    );
    expect(start[1]).toBe('Useful Commands: #action #agreed #help #info #idea #link #topic.');
    expect(h.manager.meeting(PLACE_KEY)?.ownerNick()).toBe('alice');
    const end = await h.texts('alice', '#endmeeting');
    expect(end[0]).toBe('Meeting ended Mon Jan 15 10:00:02 2024 UTC.');
    const url = 'https://meetings.example.org/virt/2024/virt.2024-01-15-10.00';
    expect(end.slice(1)).toEqual([
      `Minutes:        ${url}.html`,
      `Minutes (text): ${url}.txt`,
      `Log:            ${url}.log.html`,
    ]);
    for (const ext of ['.html', '.txt', '.md', '.log.html', '.log.txt']) {
      expect(existsSync(minutesBase(h) + ext), ext).toBe(true);
    }
    expect(h.manager.meeting(PLACE_KEY)).toBeUndefined();
    expect(existsSync(journalPath(h.dataDir, PLACE_KEY))).toBe(false);
  });

  it('takes the meeting topic and name from #startmeeting NAME', async () => {
    const h = harness();
    const r = await h.texts('alice', '#startmeeting Sprint 12 review');
    expect(r).toContain('Meeting topic: Sprint 12 review');
    await h.say('alice', '#endmeeting');
    // …and its name, for the files.
    expect(h.read(minutesBase(h, 'sprint_12_review') + '.txt')).toContain('#virt: Sprint 12 review');
  });

  it('is case-insensitive and ignores lines outside a meeting', async () => {
    const h = harness();
    expect(await h.handled('bob', '#topic nothing')).toBe(false);
    expect(await h.texts('bob', '#endmeeting')).toEqual([]);
    expect(await h.texts('bob', '#INFO no meeting yet')).toEqual([]);
    const r = await h.texts('alice', '#StartMeeting');
    expect(r[0]).toMatch(/^Meeting started/);
    expect(await h.texts('alice', '#TOPIC Loud')).toEqual(['Current topic: Loud']);
  });

  it('refuses a second #startmeeting while one is open', async () => {
    const h = await started();
    const r = await h.say('bob', '#startmeeting');
    expect(r).toEqual([expect.objectContaining({ kind: 'error' })]);
    expect(r[0]!.text).toContain('A meeting is already in progress here, started by alice');
    expect(h.manager.meeting(PLACE_KEY)?.ownerNick()).toBe('alice');
  });

  it('lets only chairs end the meeting', async () => {
    const h = await started();
    const r = await h.say('mallory', '#endmeeting');
    expect(r[0]!.kind).toBe('error');
    expect(r[0]!.text).toBe(
      'mallory: only the chairs can use #endmeeting (chairs: alice); anyone may end it once no chair has spoken for 60 minutes.',
    );
    expect(h.manager.meeting(PLACE_KEY)).toBeDefined();
  });

  it('does not treat private conversation lines as meeting lines', async () => {
    const h = await started();
    expect(await h.texts('bob', '#info secret', { private: true })).toEqual([]);
    expect(h.manager.meeting(PLACE_KEY)?.items).toEqual([]);
    const h2 = harness();
    expect(await h2.texts('bob', '#startmeeting', { private: true })).toEqual([]);
    expect(h2.manager.openPlaces()).toEqual([]);
  });
});

describe('topics, names and items', () => {
  it('#topic and #meetingtopic are for chairs', async () => {
    const h = await started();
    expect(await h.texts('alice', '#topic Status')).toEqual(['Current topic: Status']);
    expect(await h.texts('alice', '#meetingtopic Weekly sync')).toEqual(['Meeting topic: Weekly sync']);
    expect(await h.texts('alice', '#topic Open discussion')).toEqual([
      'Current topic: Open discussion (Meeting topic: Weekly sync)',
    ]);
    expect((await h.texts('bob', '#topic Mine'))[0]).toBe(
      'bob: only the chairs can use #topic (chairs: alice).',
    );
    expect((await h.texts('bob', '#meetingtopic Mine'))[0]).toContain(
      'only the chairs can use #meetingtopic',
    );
    expect(await h.texts('alice', '#meetingtopic none')).toEqual(['Meeting topic unset.']);
    const m = h.manager.meeting(PLACE_KEY)!;
    expect(m.items.filter((i) => i.type === 'TOPIC').map((i) => i.text)).toEqual([
      'Status',
      'Open discussion',
    ]);
    expect(m.currentTopic).toBe('Open discussion');
  });

  it('#meetingname is normalised like MeetBot and chair-only', async () => {
    const h = await started();
    expect((await h.texts('bob', '#meetingname bobs'))[0]).toContain('only the chairs can use #meetingname');
    expect(await h.texts('alice', '#meetingname  Virt   Team ')).toEqual([
      "The meeting name has been set to 'virt_team'",
    ]);
    await h.say('alice', '#endmeeting');
    expect(existsSync(minutesBase(h, 'virt_team') + '.html')).toBe(true);
  });

  it('anyone adds #info #action #idea #help #halp #link; chairs add decisions', async () => {
    const h = await started();
    for (const [cmd, text] of [
      ['#info', 'an info'],
      ['#action', 'bob to write docs'],
      ['#idea', 'an idea'],
      ['#help', 'need reviewers'],
      ['#halp', 'more reviewers'],
      ['#link', 'https://example.org/a see this'],
    ]) {
      expect(await h.texts('bob', `${cmd} ${text}`)).toEqual([]);
    }
    for (const cmd of ['#agreed', '#agree', '#accepted', '#accept', '#rejected', '#reject']) {
      const r = await h.say('bob', `${cmd} by bob`);
      expect(r[0]?.text, cmd).toBe(`bob: only the chairs can use ${cmd} (chairs: alice).`);
      expect(await h.texts('alice', `${cmd} by alice`)).toEqual([]);
    }
    const m = h.manager.meeting(PLACE_KEY)!;
    expect(m.items.map((i) => `${i.type} ${i.nick}: ${i.text}`)).toEqual([
      'INFO bob: an info',
      'ACTION bob: bob to write docs',
      'IDEA bob: an idea',
      'HELP bob: need reviewers',
      'HELP bob: more reviewers',
      'LINK bob: https://example.org/a see this',
      'AGREED alice: by alice',
      'AGREED alice: by alice',
      'ACCEPTED alice: by alice',
      'ACCEPTED alice: by alice',
      'REJECTED alice: by alice',
      'REJECTED alice: by alice',
    ]);
  });

  it('a bare URL at the start of a line is a link; elsewhere, or in a /me, it is not', async () => {
    const h = await started();
    expect(await h.handled('bob', 'https://libvirt.org/formatdomain.html is the reference')).toBe(false);
    await h.say('bob', 'see https://example.org/not-a-link');
    await h.say('bob', 'https://example.org/from-action', { action: true });
    await h.say('bob', '#info /me lines are not commands', { action: true });
    await h.say('bob', 'javascript:alert(1)');
    const m = h.manager.meeting(PLACE_KEY)!;
    expect(m.items.map((i) => [i.type, i.text])).toEqual([
      ['LINK', 'https://libvirt.org/formatdomain.html is the reference'],
    ]);
  });

  it('answers an empty item with its usage', async () => {
    const h = await started();
    const r = await h.say('bob', '#info');
    expect(r).toEqual([{ text: 'bob: usage: #info TEXT', kind: 'error' }]);
    expect(h.manager.meeting(PLACE_KEY)!.items).toEqual([]);
  });

  it('unknown #words are ordinary lines', async () => {
    const h = await started();
    expect(await h.handled('bob', '#1 priority is the release')).toBe(false);
    expect(await h.handled('bob', '#virt is the channel')).toBe(false);
    expect(h.manager.meeting(PLACE_KEY)!.personByNick('bob')?.count).toBe(2);
  });
});

describe('#chair / #unchair', () => {
  it('adds chairs space- or comma-separated, and they get chair powers', async () => {
    const h = await started();
    expect((await h.texts('bob', '#chair bob'))[0]).toContain('only the chairs can use #chair');
    expect(await h.texts('alice', '#chair bob, carol dave,erin')).toEqual([
      'Current chairs: alice bob carol dave erin',
    ]);
    expect(await h.texts('Bob', '#topic Bob is a chair')).toEqual(['Current topic: Bob is a chair']);
    // bob has spoken (as Bob): the chair is that person, named as they go by now.
    expect(await h.texts('alice', '#unchair carol,dave erin')).toEqual(['Current chairs: alice Bob']);
    expect((await h.texts('carol', '#topic no'))[0]).toContain('only the chairs can use #topic');
  });

  it('never unchairs the owner', async () => {
    const h = await started();
    await h.say('alice', '#chair bob');
    const r = await h.say('bob', '#unchair alice bob');
    expect(r).toEqual([
      { text: 'alice started the meeting and stays a chair.', kind: 'error' },
      { text: 'Current chairs: alice', kind: 'meeting' },
    ]);
    expect(h.manager.meeting(PLACE_KEY)!.isChairNick('alice')).toBe(true);
    expect((await h.texts('bob', '#unchair alice'))[0]).toContain('only the chairs');
  });

  it('chaired names who never speak are not people present', async () => {
    const h = await started();
    await h.say('alice', '#chair ghost');
    await h.say('alice', '#endmeeting');
    const txt = h.read(minutesBase(h) + '.txt');
    expect(txt).toContain('* alice (3)');
    expect(txt).not.toContain('ghost (');
  });
});

describe('#undo', () => {
  it('removes the last item, restores the previous topic, and is chair-only', async () => {
    const h = await started();
    await h.say('alice', '#topic One');
    await h.say('bob', '#info first');
    await h.say('alice', '#topic Two');
    expect((await h.texts('bob', '#undo'))[0]).toContain('only the chairs can use #undo');
    expect(await h.texts('alice', '#undo')).toEqual([
      'Removing item from minutes: TOPIC: Two (alice, 10:00:04)',
    ]);
    const m = h.manager.meeting(PLACE_KEY)!;
    expect(m.currentTopic).toBe('One');
    expect(await h.texts('alice', '#undo')).toEqual([
      'Removing item from minutes: INFO: first (bob, 10:00:03)',
    ]);
    await h.say('alice', '#undo');
    expect(m.items).toEqual([]);
    expect(m.currentTopic).toBe('');
    expect(await h.say('alice', '#undo')).toEqual([
      { text: 'There is no item to remove from the minutes.', kind: 'error' },
    ]);
  });

  it('never removes an operation record', async () => {
    const h = await started();
    await h.say('bob', '#info keep me? no');
    await h.manager.recordOperation(
      PLACE_KEY,
      record('ok'),
      'carol: vm nic add web01 network=default → ok: added virtio NIC',
    );
    expect(await h.texts('alice', '#undo')).toEqual([
      'Removing item from minutes: INFO: keep me? no (bob, 10:00:02)',
    ]);
    expect(h.manager.meeting(PLACE_KEY)!.items.map((i) => i.type)).toEqual(['OPERATION']);
  });
});

describe('#nick and action items by person', () => {
  it('assigns actions to speakers and #nick names by whole word, case-insensitively', async () => {
    const h = await started();
    expect(await h.texts('bob', '#nick dana, eve')).toEqual([
      'Nicks that can be assigned action items: dana, eve',
    ]);
    await h.say('bob', '#action BOB and Dana to review the patch');
    await h.say('bob', '#action bobby to do something');
    await h.say('carol', '#action someone to update the wiki');
    await h.say('carol', '#action eve: [deploy] alice, please');
    await h.say('alice', '#endmeeting');
    const txt = h.read(minutesBase(h) + '.txt');
    const byPerson = txt.slice(txt.indexOf('Action items, by person'), txt.indexOf('People present'));
    expect(byPerson).toBe(
      [
        'Action items, by person',
        '-----------------------',
        '* alice',
        '  * eve: [deploy] alice, please',
        '* bob',
        '  * BOB and Dana to review the patch',
        '* dana',
        '  * BOB and Dana to review the patch',
        '* eve',
        '  * eve: [deploy] alice, please',
        '* **UNASSIGNED**',
        '  * bobby to do something',
        '  * someone to update the wiki',
        '',
        '',
        '',
        '',
        '',
      ].join('\n'),
    );
    const people = txt.slice(txt.indexOf('People present'), txt.indexOf('Useful commands'));
    expect(people).toContain('* bob (3)');
    expect(people).toContain('* carol (2)');
    expect(people).toContain('* alice (2)');
    expect(people).not.toMatch(/\* (dana|eve) \(/);
    expect(people).toContain('Named with #nick (did not speak): dana, eve');
    expect(people).not.toContain('virtbot');
  });
});

describe('#save, #lurk, #restrictlogs, #commands', () => {
  it('#save writes the minutes so far (chairs only)', async () => {
    const h = await started();
    await h.say('bob', '#info saved item');
    expect((await h.texts('bob', '#save'))[0]).toContain('only the chairs can use #save');
    expect(await h.texts('alice', '#save')).toEqual([
      'Minutes saved so far: https://meetings.example.org/virt/2024/virt.2024-01-15-10.00.html',
    ]);
    const html = h.read(minutesBase(h) + '.html');
    expect(html).toContain('saved item');
    expect(html).toContain('Meeting still in progress');
    expect(h.manager.meeting(PLACE_KEY)).toBeDefined();
  });

  it('#lurk silences the bot until #unlurk; items are still taken', async () => {
    const h = await started();
    expect((await h.texts('bob', '#lurk'))[0]).toContain('only the chairs can use #lurk');
    expect(await h.texts('alice', '#lurk')).toEqual([]);
    expect(await h.texts('alice', '#topic Quiet')).toEqual([]);
    expect(await h.texts('bob', '#unlurk')).toEqual([]); // refused, but silently: the bot lurks
    expect(await h.texts('alice', '#commands')).toEqual([]);
    await h.say('bob', '#info still recorded');
    expect(await h.texts('alice', '#unlurk')).toEqual([]);
    expect(await h.texts('alice', '#topic Loud')).toEqual(['Current topic: Loud']);
    expect(h.manager.meeting(PLACE_KEY)!.items.map((i) => i.text)).toEqual([
      'Quiet',
      'still recorded',
      'Loud',
    ]);
  });

  it('#restrictlogs makes the files private to the owner', async () => {
    const h = await started();
    expect((await h.texts('bob', '#restrictlogs'))[0]).toContain('only the chairs can use #restrictlogs');
    expect((await h.texts('alice', '#restrictlogs'))[0]).toMatch(/^Restricting permissions on minutes: -077/);
    await h.say('alice', '#endmeeting');
    for (const ext of ['.html', '.txt', '.md', '.log.html', '.log.txt']) {
      expect(statSync(minutesBase(h) + ext).mode & 0o077, ext).toBe(0);
    }
    const h2 = await started();
    await h2.say('alice', '#endmeeting');
    expect(statSync(minutesBase(h2) + '.html').mode & 0o004).toBe(0o004);
  });

  it('#commands lists every command, for anyone', async () => {
    const h = await started();
    const [r] = await h.texts('bob', '#commands');
    // Every name of the command table, aliases included, sorted.
    expect(r).toBe(`Available commands: ${MEETING_COMMAND_NAMES.map((c) => `#${c}`).join(' ')}`);
    expect(r).toContain('#startvote');
    expect(r).toContain('#halp');
  });
});

describe('votes', () => {
  it('runs a vote MeetBot-style; the last vote counts; the result is an item', async () => {
    const h = await started();
    expect((await h.texts('bob', '#startvote Ship it? Yes, No'))[0]).toContain(
      'only the chairs can use #startvote',
    );
    expect(await h.texts('alice', '#startvote Should we ship 1.0 now? Yes, No, Maybe')).toEqual([
      'Begin voting on: Should we ship 1.0 now? Valid vote options are Yes, No, Maybe.',
      "Vote using '#vote OPTION'. Only your last vote counts.",
    ]);
    expect((await h.texts('alice', '#startvote Another? A, B'))[0]).toContain('A vote is already open');
    expect(await h.texts('alice', '#vote yes')).toEqual([]);
    expect(await h.texts('bob', '#vote Absolutely')).toEqual([
      'bob: Absolutely is not a valid option. Valid options are Yes, No, Maybe.',
    ]);
    await h.say('bob', '#vote Yes');
    expect(await h.texts('bob', '#showvote')).toEqual(['Yes (2): alice, bob']);
    await h.say('alice', '#vote No');
    await h.say('carol', '#vote maybe');
    expect(await h.texts('carol', '#showvote')).toEqual([
      'Yes (1): bob',
      'No (1): alice',
      'Maybe (1): carol',
    ]);
    expect((await h.texts('bob', '#endvote'))[0]).toContain('only the chairs can use #endvote');
    expect(await h.texts('alice', '#endvote')).toEqual([
      'Voted on "Should we ship 1.0 now?" Results are',
      'Yes (1): bob',
      'No (1): alice',
      'Maybe (1): carol',
    ]);
    const vote = h.manager.meeting(PLACE_KEY)!.items.at(-1)!;
    expect(vote).toMatchObject({
      type: 'VOTE',
      nick: 'alice',
      text: 'Voted on "Should we ship 1.0 now?" Results are: Yes (1): bob; No (1): alice; Maybe (1): carol',
    });
    expect((await h.say('bob', '#vote Yes'))[0]!.text).toContain('there is no vote open');
    expect(await h.say('bob', '#showvote')).toEqual([{ text: 'There is no vote open.', kind: 'error' }]);
  });

  it('defaults to Yes/No, rejects a question without "?", and #endmeeting closes an open vote', async () => {
    const h = await started();
    expect((await h.say('alice', '#startvote no question mark'))[0]!.text).toMatch(
      /^Unable to parse vote topic/,
    );
    expect((await h.texts('alice', '#startvote Lunch?'))[0]).toBe(
      'Begin voting on: Lunch? Valid vote options are Yes, No.',
    );
    expect(await h.texts('bob', '#showvote')).toEqual(['No votes yet on "Lunch?".']);
    await h.say('bob', '#vote no');
    const end = await h.texts('alice', '#endmeeting');
    expect(end.slice(0, 2)).toEqual(['Voted on "Lunch?" Results are', 'No (1): bob']);
    expect(h.read(minutesBase(h) + '.txt')).toContain('VOTE: Voted on "Lunch?" Results are: No (1): bob');
  });
});

describe('operations in the minutes', () => {
  it('adds an operation under the current topic with its outcome, only where a meeting is open', async () => {
    const h = await started();
    await h.say('alice', '#topic Network');
    await h.manager.recordOperation(
      PLACE_KEY,
      record('ok'),
      'carol: vm nic add web01 network=default → ok: added virtio NIC',
    );
    await h.manager.recordOperation(
      PLACE_KEY,
      record('denied', 'mallory'),
      'mallory: vm destroy web01 → denied: needs vm.destroy',
    );
    await h.manager.recordOperation('irc:libera:#other', record('failed'), 'carol: vm start x → failed');
    await h.say('alice', '#endmeeting');
    const txt = h.read(minutesBase(h) + '.txt');
    const flat = txt.replace(/\s+/g, ' ');
    expect(flat).toContain(
      '* Network (alice, 10:00:02) * OPERATION (ok): carol: vm nic add web01 network=default → ok: added virtio NIC (carol, 10:05:00) * OPERATION (denied): mallory: vm destroy web01 → denied: needs vm.destroy (mallory, 10:05:00)',
    );
    expect(txt).not.toContain('vm start x');
    const html = h.read(minutesBase(h) + '.html');
    expect(html).toContain('<span class="outcome denied">denied</span>');
    // The operation is an item, not a log line: nobody said it.
    expect(h.read(minutesBase(h) + '.log.txt')).not.toContain('vm nic add');
    expect(txt).not.toMatch(/\* virtbot \(\d+\)/);
    expect(readdirSync(h.minutesDir).sort()).toEqual(['index.html', 'virt']);
  });
});

describe('the bot itself', () => {
  it('logs what it sent, never counts itself, and someone holding its usual nick is a person', async () => {
    const h = await started();
    // The bot runs as virtbot_ (its nick was taken); a person holds 'virtbot'.
    h.manager.onEvent({
      type: 'nick',
      transport: 'irc',
      network: 'libera',
      from: 'virtbot',
      to: 'virtbot_',
      time: new Date(h.now()),
    });
    expect(await h.texts('virtbot', '#info I am not the bot')).toEqual([]);
    await h.say('alice', '#endmeeting');
    const log = h.read(minutesBase(h) + '.log.txt');
    expect(log.split('\n').filter(Boolean)).toEqual([
      '10:00:01 <alice> #startmeeting',
      '10:00:01 <virtbot> Meeting started Mon Jan 15 10:00:01 2024 UTC.  The chair is alice. Information about virtbot meetings: say #commands for the list of commands.',
      '10:00:01 <virtbot> Useful Commands: #action #agreed #help #info #idea #link #topic.',
      '10:00:02 <virtbot> #info I am not the bot',
      '10:00:03 <alice> #endmeeting',
    ]);
    const txt = h.read(minutesBase(h) + '.txt');
    expect(txt).toMatch(/People present \(lines said\)\n-+\n\* alice \(2\)\n\* virtbot \(1\)\n/);
    expect(txt).toContain('* INFO: I am not the bot (virtbot, 10:00:02)');
  });
});

describe('the channel topic', () => {
  it('is set to the meeting’s topic while it runs and restored at #endmeeting, as MeetBot does', async () => {
    const h = harness();
    h.manager.onEvent({ type: 'topic', place: PLACE, topic: 'Welcome to #virt', time: new Date(T0) });
    const start = await h.say('alice', '#startmeeting');
    expect(start[0]!.setTopic).toBe('meeting in progress');
    // The bot's own topic changes during the meeting do not replace the one to restore.
    h.manager.onEvent({ type: 'topic', place: PLACE, topic: 'meeting in progress', time: new Date(T0 + 1) });
    expect((await h.say('alice', '#topic Status'))[0]!.setTopic).toBe('Status');
    expect((await h.say('alice', '#meetingtopic Weekly'))[0]!.setTopic).toBe(
      'Status (Meeting topic: Weekly)',
    );
    const end = await h.say('alice', '#endmeeting');
    expect(end[0]!.setTopic).toBe('Welcome to #virt');
    expect(end.slice(1).every((r) => r.setTopic === undefined)).toBe(true);
  });

  it('is left alone at the end when the old topic is not known', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    expect((await h.say('alice', '#endmeeting'))[0]!.setTopic).toBeUndefined();
  });
});

describe('links', () => {
  it('irc:// and ssh:// are links, as MeetBot’s UrlProtocols say; javascript: never is', async () => {
    const h = await started();
    await h.say('bob', 'irc://irc.libera.chat/#virt is where we meet');
    await h.say('bob', '#info log in with ssh://ops@bastion.example.org:2222 first');
    await h.say('bob', '#link javascript:alert(1)');
    await h.say('alice', '#endmeeting');
    const m = h.read(minutesBase(h) + '.html');
    expect(m).toContain('<a href="irc://irc.libera.chat/#virt" rel="nofollow noopener">');
    expect(m).toContain('<a href="ssh://ops@bastion.example.org:2222" rel="nofollow noopener">');
    expect(m).not.toContain('href="javascript:');
    expect(h.read(minutesBase(h) + '.txt')).toContain('LINK: irc://irc.libera.chat/#virt is where we meet');
  });
});
