/**
 * The transcript renderers: what IRC, Discord and plain (console) users see of the same replies.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { Place, Reply } from '../../src/core/types.js';
import { renderPlain } from '../../src/testing/render/console.js';
import { DISCORD_MESSAGE_LIMIT, discordRenderer, escapeMentions } from '../../src/testing/render/discord.js';
import { renderOptionsOf } from '../../src/testing/render/index.js';
import { IRC_LINE_BYTES, ircRenderer, ircTextBytes } from '../../src/testing/render/irc.js';

const channel = (transport: string): Place => ({
  transport,
  network: 'libera',
  channel: '#ops',
  private: false,
});
const dm = (transport: string): Place => ({ transport, network: 'libera', channel: 'alice', private: true });
const help: Reply = {
  text: 'commands:',
  kind: 'reply',
  lines: ['vm list', 'vm info VM', 'vm start VM', 'vm stop VM', 'host list'],
};
const prompt: Reply = {
  text: "vm stop is destructive: type '!confirm K7QX2P' within 120 s to go ahead, or '!cancel K7QX2P'",
  kind: 'confirm',
  confirmCode: 'K7QX2P',
  actions: ['confirm', 'cancel'],
};
const denial: Reply = { text: 'denied: no role of bob grants vm.stop', kind: 'error', private: true };

describe('IRC rendering', () => {
  const irc = ircRenderer({ botNick: 'virtbot' });

  it('shows at most four lines of a reply in the channel, the rest privately to the requester', () => {
    const seen = irc({ replies: [help], place: channel('irc'), requester: 'alice' });
    expect(seen.map((l) => [l.where, l.to, l.delivery, l.text])).toEqual([
      ['#ops', undefined, 'message', 'commands:'],
      ['#ops', undefined, 'message', 'vm list'],
      ['#ops', undefined, 'message', 'vm info VM'],
      ['#ops', undefined, 'message', 'alice: (3 more lines sent to you privately)'],
      ['private', 'alice', 'notice', 'vm start VM'],
      ['private', 'alice', 'notice', 'vm stop VM'],
      ['private', 'alice', 'notice', 'host list'],
    ]);
  });

  it('honours maxChannelLines and privateAs', () => {
    const two = ircRenderer({ botNick: 'virtbot', maxChannelLines: 2, privateAs: 'privmsg' });
    const seen = two({ replies: [help], place: channel('irc'), requester: 'alice' });
    expect(seen.filter((l) => l.where === '#ops').map((l) => l.text)).toEqual([
      'commands:',
      'alice: (5 more lines sent to you privately)',
    ]);
    expect(seen.filter((l) => l.where === 'private').every((l) => l.delivery === 'notice')).toBe(true);
  });

  it('sends private replies as notices, and everything in a private conversation as messages with no budget', () => {
    expect(irc({ replies: [denial], place: channel('irc'), requester: 'bob' })).toEqual([
      expect.objectContaining({ where: 'private', to: 'bob', delivery: 'notice', text: denial.text }),
    ]);
    const seen = irc({ replies: [help, denial], place: dm('irc'), requester: 'alice' });
    expect(seen).toHaveLength(7);
    expect(seen.every((l) => l.where === 'private' && l.to === 'alice' && l.delivery === 'message')).toBe(
      true,
    );
  });

  it('splits a long line under 512 bytes with the prefix the server adds, never inside a UTF-8 sequence', () => {
    const long: Reply = { text: 'é'.repeat(400), kind: 'reply' };
    const seen = irc({ replies: [long], place: channel('irc'), requester: 'alice' });
    const budget = ircTextBytes({ botNick: 'virtbot' }, 'PRIVMSG', '#ops');
    expect(budget).toBeLessThan(IRC_LINE_BYTES - 80);
    expect(seen.length).toBe(2);
    for (const line of seen) {
      expect(Buffer.byteLength(line.text)).toBeLessThanOrEqual(budget);
      expect(line.text).toMatch(/^é+$/);
    }
    expect(seen.map((l) => l.text).join('')).toBe(long.text);
  });

  it('stays silent about an unknown !command in a channel, but answers one said by name', () => {
    const unknown: Reply = { text: "unknown command 'seen'", kind: 'error', unknownCommand: true };
    expect(irc({ replies: [unknown], place: channel('irc'), requester: 'a', via: 'prefix' })).toEqual([]);
    expect(irc({ replies: [unknown], place: channel('irc'), requester: 'a', via: 'name' })).toHaveLength(1);
  });

  it('shows no buttons: the prompt is the text', () => {
    const seen = irc({ replies: [prompt], place: channel('irc'), requester: 'alice' });
    expect(seen.map((l) => l.text)).toEqual([prompt.text]);
  });
});

describe('Discord rendering', () => {
  const discord = discordRenderer();

  it('sends one reply as one message, with a button row for its actions', () => {
    const seen = discord({ replies: [prompt], place: channel('discord'), requester: 'alice' });
    expect(seen.map((l) => [l.delivery, l.text, l.message])).toEqual([
      ['message', prompt.text, 0],
      ['buttons', '[Confirm] [Cancel]', 0],
    ]);
    expect(seen[1]!.buttons).toEqual({ code: 'K7QX2P', actions: ['confirm', 'cancel'] });
  });

  it('keeps a long reply in the channel: no private overflow, all lines in one message', () => {
    const seen = discord({ replies: [help], place: channel('discord'), requester: 'alice' });
    expect(seen.every((l) => l.where === '#ops' && l.to === undefined && l.message === 0)).toBe(true);
    expect(seen).toHaveLength(6);
  });

  it('makes private replies ephemeral for a slash command, and direct messages for a typed one', () => {
    const slash = discord({
      replies: [denial],
      place: channel('discord'),
      requester: 'bob',
      interaction: true,
    });
    expect(slash).toEqual([
      expect.objectContaining({ where: '#ops', to: 'bob', delivery: 'ephemeral', text: denial.text }),
    ]);
    const typed = discord({ replies: [denial], place: channel('discord'), requester: 'bob' });
    expect(typed).toEqual([expect.objectContaining({ where: 'private', to: 'bob', delivery: 'dm' })]);
  });

  it('answers an interaction that produced nothing, ephemerally', () => {
    expect(discord({ replies: [], place: channel('discord'), requester: 'bob', interaction: true })).toEqual([
      expect.objectContaining({ to: 'bob', delivery: 'ephemeral', text: 'Done (no output).' }),
    ]);
    expect(discord({ replies: [], place: channel('discord'), requester: 'bob' })).toEqual([]);
  });

  it('splits at 2000 characters, and attaches a file beyond three messages', () => {
    const line = 'x'.repeat(1500);
    const two = discord({
      replies: [{ text: `${line}\n${line}`, kind: 'reply' }],
      place: channel('discord'),
    });
    expect(two.map((l) => l.message)).toEqual([0, 1]);
    expect(two.every((l) => l.text.length <= DISCORD_MESSAGE_LIMIT)).toBe(true);
    const many = discord({
      replies: [{ text: 'first', kind: 'reply', lines: Array.from({ length: 9 }, () => line) }],
      place: channel('discord'),
    });
    expect(many.map((l) => [l.delivery, l.text])).toEqual([
      ['message', 'first'],
      ['message', '… 9 more lines in the attached file'],
      ['file', 'output.txt (10 lines)'],
    ]);
  });

  it('escapes mentions, shows cards as embeds, and offers approval buttons', () => {
    expect(escapeMentions('hi @everyone and @here, <@123456> <@!123456> <@&99999>')).toBe(
      'hi \\@everyone and \\@here, \\<@123456> \\<@!123456> \\<@&99999>',
    );
    const seen = discord({
      replies: [
        {
          text: 'web01 on lab: running (@everyone)',
          kind: 'reply',
          card: { title: 'web01', fields: [{ name: 'state', value: 'running' }] },
        },
        {
          text: 'needs approval',
          kind: 'confirm',
          confirmCode: 'AB12CD',
          actions: ['approve', 'deny', 'confirm', 'cancel'],
        },
      ],
      place: channel('discord'),
      requester: 'alice',
    });
    expect(seen.map((l) => [l.delivery, l.text])).toEqual([
      ['message', 'web01 on lab: running (\\@everyone)'],
      ['message', 'needs approval'],
      ['embed', 'web01'],
      ['embed', 'state: running'],
      ['buttons', '[Approve] [Deny] [Confirm] [Cancel]'],
    ]);
  });
});

describe('plain rendering (console, default transcripts)', () => {
  it('shows every line; private ones to the requester', () => {
    const seen = renderPlain({ replies: [help, denial], place: channel('transcript'), requester: 'bob' });
    expect(seen).toHaveLength(7);
    expect(seen.at(-1)).toMatchObject({ where: 'private', to: 'bob', text: denial.text });
    expect(seen.slice(0, 6).every((l) => l.where === '#ops' && l.to === undefined)).toBe(true);
  });
});

describe('render options from the config', () => {
  it('take the settings of the network the transcript is on, else of the first one', () => {
    const config = validateConfig({
      hosts: [{ name: 'test', uri: 'test:///default' }],
      irc: [
        { name: 'libera', host: 'irc.libera.chat', channels: ['#ops'], maxChannelLines: 2 },
        { name: 'oftc', host: 'irc.oftc.net', channels: ['#ops'], privateAs: 'privmsg', username: 'vb' },
      ],
    });
    expect(renderOptionsOf(config, 'oftc').irc).toEqual({
      maxChannelLines: 4,
      privateAs: 'privmsg',
      username: 'vb',
    });
    expect(renderOptionsOf(config, '').irc).toEqual({ maxChannelLines: 2, privateAs: 'notice' });
    expect(renderOptionsOf(config, '').discord).toBeUndefined();
  });
});
