/** Everything about a meeting command comes from the one table in src/meeting/commands.ts. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  commandsReply,
  MEETING_COMMAND_NAMES,
  MEETING_COMMANDS,
  meetingHelpLine,
  meetingReference,
  meetingTypo,
  parseMeetingCommand,
  splitVoteOptions,
} from '../../src/meeting/commands.js';
import { buildSlashCommands, MEETING_LINES } from '../../src/transports/slash.js';
import { harness } from './helpers.js';

describe('the meeting command table', () => {
  it('every name (aliases too) is used in a meeting transcript', () => {
    const all = readdirSync('test/transcripts')
      .filter((f) => /^meeting-.*\.chat$/.test(f))
      .map((f) => readFileSync(join('test/transcripts', f), 'utf8'))
      .join('\n')
      .toLowerCase();
    for (const name of MEETING_COMMAND_NAMES) expect(all, name).toMatch(new RegExp(`> #${name}\\b`));
  });

  it('gives /meeting a subcommand for every command that has one (Discord: at most 25)', () => {
    const withSlash = MEETING_COMMANDS.filter((c) => typeof c.slash === 'string');
    expect(MEETING_LINES.map((l) => l.keyword)).toEqual(withSlash.map((c) => `#${c.name}`));
    expect(MEETING_LINES.length).toBeLessThanOrEqual(25);
    for (const c of MEETING_COMMANDS.filter((x) => typeof x.slash !== 'string')) {
      expect((c.slash as { none: string }).none, c.name).not.toBe('');
    }
    const meeting = buildSlashCommands([]).commands.find((c) => c.name === 'meeting')!;
    const subs = meeting.options!.map((o) => o.name);
    expect(subs).toContain('vote-start');
    expect(subs).toContain('save');
    expect(subs).toContain('done');
    for (const o of meeting.options!) expect(o.description.length).toBeLessThanOrEqual(100);
  });

  it('documents every command in docs/COMMANDS.md', () => {
    const doc = readFileSync('docs/COMMANDS.md', 'utf8');
    expect(doc).toContain(meetingReference().join('\n'));
    for (const c of MEETING_COMMANDS) expect(doc, c.name).toContain(`| \`#${c.name}`);
  });

  it('reads MeetBot’s forgiving syntax', () => {
    expect(parseMeetingCommand('#ACTION bob to fix')).toMatchObject({ name: 'action', arg: 'bob to fix' });
    expect(parseMeetingCommand('#action: bob to fix')).toMatchObject({ name: 'action', arg: 'bob to fix' });
    expect(parseMeetingCommand('#info:x')).toBeNull();
    expect(parseMeetingCommand('#agree: yes')).toMatchObject({ name: 'agree', command: { name: 'agreed' } });
    expect(parseMeetingCommand('#kimchi is great')).toBeNull();
    expect(meetingTypo('#comand')).toBe('commands');
    expect(meetingTypo('#endmeting')).toBe('endmeeting');
    expect(meetingTypo('#acton bob')).toBe('action');
    expect(meetingTypo('#virt is the channel')).toBeUndefined();
    expect(meetingTypo('#1 priority')).toBeUndefined();
  });

  it('splits vote options on commas, else on spaces', () => {
    expect(splitVoteOptions(' vim emacs nano')).toEqual(['vim', 'emacs', 'nano']);
    expect(splitVoteOptions(' Yes please, No, yes please')).toEqual(['Yes please', 'No']);
    expect(splitVoteOptions('  ')).toEqual(['Yes', 'No']);
  });

  it('#commands lists every name of the table', () => {
    expect(commandsReply().split(' ').slice(2)).toEqual(MEETING_COMMAND_NAMES.map((n) => `#${n}`));
  });

  it('the help line points to /meeting and mentions where plain #info lines are invisible', () => {
    expect(meetingHelpLine()).toContain('#info');
    const discord = meetingHelpLine({ hearsChatter: false });
    expect(discord).toContain('/meeting info');
    expect(discord).toContain('@virtbot #info');
  });
});

describe('without message content (Discord, hearsChatter false)', () => {
  it('the start reply says to use /meeting info or a mention, not plain #info', async () => {
    const h = harness();
    const r = await h.manager.observe(
      {
        place: {
          transport: 'discord',
          network: 'g',
          channel: '42',
          label: 'ops',
          hearsChatter: false,
          private: false,
        },
        sender: { nick: 'alice', userId: '7' },
        text: '#startmeeting',
        said: '@virtbot #startmeeting',
        time: new Date(),
        addressed: true,
      },
      { user: null, groups: [], roles: [], proof: 'anonymous', nick: 'alice' },
    );
    const texts = r.replies.map((x) => x.text);
    expect(texts[1]).toContain('/meeting info');
    expect(texts[1]).toContain("'@virtbot #info …'");
    expect(texts.join('\n')).not.toContain('Useful Commands: #action');
  });
});
