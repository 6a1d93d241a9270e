/**
 * The Kimchi scrum of 2014-04-16, run by Debian MeetBot (kimchi-bot), replayed through virtbot.
 * Every expected value below was counted by hand from ../shared/seed/kimchi-scrum-2014-04-16.txt (copied
 * unchanged to test/fixtures/meeting/)
 * (238 lines: 97 alinefm, 43 adamkingit, 32 shaohef, 30 royce, 30 YuXin, 3 kimchi-bot,
 * 2 rotru, 1 danielhb; #startmeeting on line 1, #endmeeting on line 238 without a newline).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatReplaySummary, type ReplayResult, replay } from '../../src/meeting/replay.js';

const SEED = new URL('../fixtures/meeting/kimchi-scrum-2014-04-16.txt', import.meta.url).pathname;

let result: ReplayResult;
let outDir: string;
const base = () => join(outDir, 'kimchi', '2014', 'scrum.2014-04-16-13.01');

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'virtbot-seed-'));
  result = await replay({ logFile: SEED, channel: '#kimchi', outDir });
});

describe('replay of the Kimchi scrum (2014-04-16)', () => {
  it('reads every line, guesses the bot and the date from "Meeting started"', () => {
    expect(result.lines).toBe(238);
    expect(result.messages).toBe(238);
    expect(result.unreadable).toEqual([]);
    expect(result.unreadableCount).toBe(0);
    expect(result.skipped).toBe(0);
    expect(result.botNick).toBe('kimchi-bot');
    expect(result.date).toBe('2014-04-16');
    expect(result.dateSource).toBe('meeting-started');
    expect(result.meetings).toHaveLength(1);
  });

  it('names the files after #meetingname scrum, in kimchi/2014/', () => {
    expect(result.files.sort()).toEqual(
      ['.html', '.json', '.log.html', '.log.txt', '.md', '.txt'].map((ext) => base() + ext).sort(),
    );
  });

  it('has the owner, the name, start and end', () => {
    const m = result.meetings[0]!;
    expect(m.owner).toBe('alinefm');
    expect(m.chairs).toEqual(['alinefm']);
    expect(m.name).toBe('scrum');
    expect(m.title).toBe('#kimchi: scrum');
    expect(m.start).toBe('2014-04-16 13:01:55');
    expect(m.end).toBe('2014-04-16 14:27:09');
    expect(m.unterminated).toBe(false);
    expect(m.lines).toBe(238);
  });

  it('has the two topics, in order', () => {
    expect(result.meetings[0]!.topics).toEqual(['Status', 'Open Discussion']);
  });

  it('has each item, with its type, author, time and topic', () => {
    const items = result.meetings[0]!.items;
    // Line 6: before any #topic.
    expect(items[0]).toEqual({
      type: 'INFO',
      text: 'Agenda 1) Status 2) Open discussion',
      nick: 'alinefm',
      time: '13:02:13',
      topic: null,
    });
    // Lines 11–43, under "Status".
    expect(items[1]).toEqual({
      type: 'INFO',
      text: 'Please provide your status using the #info command: #info <nickname> <status>',
      nick: 'alinefm',
      time: '13:05:07',
      topic: 'Status',
    });
    expect(items[2]).toEqual({
      type: 'INFO',
      text: 'alinefm added mechanism to translate help pages',
      nick: 'alinefm',
      time: '13:06:13',
      topic: 'Status',
    });
    expect(items[3]).toEqual({
      type: 'INFO',
      text: 'YuXin Edit Guest Network Interface, Patch V1 sent, need to discuss the interface model',
      nick: 'YuXin',
      time: '13:06:13',
      topic: 'Status',
    });
    expect(items[4]).toEqual({
      type: 'INFO',
      text: 'rotru  is working in new patches of "edit vm cpu/memory" feature',
      nick: 'rotru',
      time: '13:06:30',
      topic: 'Status',
    });
    expect(items[5]).toEqual({
      type: 'INFO',
      text: 'royce finished guest disks manage backend patch v1, merged ide support 4 disks patch, now working on the UI for disk manage slowly...',
      nick: 'royce',
      time: '13:06:37',
      topic: 'Status',
    });
    expect(items[6]).toEqual({
      type: 'INFO',
      text: 'alinefm created API to add users/groups to the vms',
      nick: 'alinefm',
      time: '13:06:42',
      topic: 'Status',
    });
    expect(items[7]).toEqual({
      type: 'INFO',
      text: 'alinefm now I am working on a API to list all system users and groups - it will be useful when user will update the vm users/groups from UI',
      nick: 'alinefm',
      time: '13:07:15',
      topic: 'Status',
    });
    expect(items[8]).toEqual({
      type: 'INFO',
      text: 'shaohef send version API support.',
      nick: 'shaohef',
      time: '13:08:13',
      topic: 'Status',
    });
    // Line 42: a bare URL at the start of a line is a link.
    expect(items[9]).toEqual({
      type: 'LINK',
      text: 'https://github.com/kimchi-project/kimchi/wiki/Todo-1.2.1',
      nick: 'adamkingit',
      time: '13:17:27',
      topic: 'Status',
    });
    expect(items[10]).toEqual({
      type: 'INFO',
      text: 'danielhb submitted a 5th version of "kimchi must not run as root" with the FABULOUS help of alinefm . Patch is waiting for review/approval',
      nick: 'danielhb',
      time: '13:17:47',
      topic: 'Status',
    });
    // Line 50, under "Open Discussion". Line 154 ("YuXin: http://picpaste.com") is not a link: the URL is not first.
    expect(items[11]).toEqual({
      type: 'INFO',
      text: 'rotru investigated and helped to fix problems when create multiple templates',
      nick: 'rotru',
      time: '13:21:12',
      topic: 'Open Discussion',
    });
    expect(items).toHaveLength(12);
    expect(result.meetings[0]!.actions).toBe(0);
  });

  it('counts the people present one by one, without the bot and without text fragments', () => {
    expect(result.meetings[0]!.people).toEqual([
      { nick: 'alinefm', count: 97 },
      { nick: 'adamkingit', count: 43 },
      { nick: 'shaohef', count: 32 },
      { nick: 'royce', count: 30 },
      { nick: 'YuXin', count: 30 },
      { nick: 'rotru', count: 2 },
      { nick: 'danielhb', count: 1 },
    ]);
  });

  it('writes text minutes a MeetBot user recognises', () => {
    const txt = readFileSync(base() + '.txt', 'utf8');
    expect(txt.startsWith('==============\n#kimchi: scrum\n==============\n')).toBe(true);
    expect(txt).toContain('Meeting started by alinefm at 13:01:55 UTC on 2014-04-16.');
    expect(txt).toContain('Meeting ended at 14:27:09 UTC.');
    expect(txt).toContain(
      '\n* Status (alinefm, 13:05:07)\n  * INFO: Please provide your status using the #info command: #info\n',
    );
    expect(txt).toContain('\n* Open Discussion (alinefm, 13:21:10)\n  * INFO: rotru investigated');
    expect(txt).toContain(
      '  * LINK: https://github.com/kimchi-project/kimchi/wiki/Todo-1.2.1\n    (adamkingit, 13:17:27)',
    );
    expect(txt).toContain(
      'People present (lines said)\n---------------------------\n* alinefm (97)\n* adamkingit (43)\n* shaohef (32)\n* royce (30)\n* YuXin (30)\n* rotru (2)\n* danielhb (1)\n\n',
    );
    expect(txt).not.toContain('kimchi-bot (');
    expect(txt).toContain('Action items\n------------\n* (none)\n');
  });

  it('writes a text log that is the seed again (and can itself be replayed)', () => {
    const log = readFileSync(base() + '.log.txt', 'utf8');
    const seed = readFileSync(SEED, 'utf8');
    expect(log).toBe(seed.endsWith('\n') ? seed : seed + '\n');
  });

  it('writes HTML minutes with links to the log lines, escaped and well-formed', () => {
    const html = readFileSync(base() + '.html', 'utf8');
    expect(XMLValidator.validate(html)).toBe(true);
    expect(html).toContain('<title>#kimchi: scrum</title>');
    expect(html).toContain('#info &lt;nickname&gt; &lt;status&gt;');
    expect(html).toContain('<a href="scrum.2014-04-16-13.01.log.html#l-6">13:02:13</a>');
    expect(html).toContain('<a href="scrum.2014-04-16-13.01.log.html#l-42">13:17:27</a>');
    expect(html).toContain(
      '<a href="https://github.com/kimchi-project/kimchi/wiki/Todo-1.2.1" rel="nofollow noopener">https://github.com/kimchi-project/kimchi/wiki/Todo-1.2.1</a>',
    );
    expect(html).not.toMatch(/<script|src=|@import|url\(/i);
    const log = readFileSync(base() + '.log.html', 'utf8');
    expect(XMLValidator.validate(log)).toBe(true);
    // Line 218: `<type arch='x86_64' machine='pc-1.2'>hvm</type>` is chat text, escaped.
    expect(log).toContain('&lt;type arch=&#39;x86_64&#39; machine=&#39;pc-1.2&#39;&gt;hvm&lt;/type&gt;');
    expect(log).toContain('id="l-238"');
    expect(log).not.toContain('id="l-239"');
  });

  it('summarises the replay for the CLI', () => {
    const s = formatReplaySummary(result);
    expect(s).toContain('238 lines (238 chat lines, 0 join/part/status lines, 0 nick changes, 0 unreadable)');
    expect(s).toContain('Channel #kimchi, bot kimchi-bot, date 2014-04-16 (from meeting started).');
    expect(s).toContain(
      'Meeting "#kimchi: scrum" started by alinefm at 2014-04-16 13:01:55 UTC, ended 2014-04-16 14:27:09 UTC.',
    );
    expect(s).toContain('2 topics, 12 items (11 INFO, 1 LINK), 0 action items.');
    expect(s).toContain(
      'People present (lines said): alinefm (97), adamkingit (43), shaohef (32), royce (30), YuXin (30), rotru (2), danielhb (1)',
    );
    expect(s).toContain(base() + '.html');
  });
});
