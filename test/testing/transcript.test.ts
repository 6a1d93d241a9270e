/**
 * The transcript runner with a fake bot: places and networks, people and their proofs, anchored
 * and targeted expectations, codes by name, injected events, Discord slash commands and buttons,
 * and --update. (The old cases of test/core/transcript.test.ts are left to its migration.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import type { InboundMessage, Reply } from '../../src/core/types.js';
import { People } from '../../src/testing/people.js';
import { readTranscript, TranscriptSyntaxError } from '../../src/testing/syntax.js';
import { type Announcement, type InjectedEvent, runTranscript } from '../../src/testing/transcript.js';

/**
 * A bot that answers `help` with many lines, `status` with one, `stop X` with a code, `secret`
 * privately, `confirm CODE` with "done CODE", and says nothing to chatter.
 */
function fakeBot(seen: InboundMessage[] = []) {
  let n = 0;
  return async (msg: InboundMessage): Promise<Reply[]> => {
    seen.push(msg);
    if (!msg.addressed) return [];
    const [word, arg] = msg.text.split(' ');
    if (word === 'help')
      return [
        { text: 'commands:', kind: 'reply', lines: ['status', 'stop VM', 'secret', 'confirm CODE', 'help'] },
      ];
    if (word === 'status') return [{ text: 'test on test: running', kind: 'reply' }];
    if (word === 'stop') {
      const code = `CODE${++n}X`;
      return [
        {
          text: `stop ${arg} is destructive: type '${msg.replyPrefix ?? ''}confirm ${code}'`,
          kind: 'confirm',
          confirmCode: code,
          actions: ['confirm', 'cancel'],
        },
      ];
    }
    if (word === 'secret') return [{ text: `only for ${msg.sender.nick}`, kind: 'reply', private: true }];
    if (word === 'confirm' || word === 'cancel')
      return [
        {
          text: `${word === 'cancel' ? 'cancelled' : 'confirmed'} ${arg} for ${msg.sender.nick}`,
          kind: 'reply',
        },
      ];
    return [{ text: `unknown command '${word}'`, kind: 'error', unknownCommand: true }];
  };
}

async function run(
  text: string,
  extra: Partial<Parameters<typeof runTranscript>[1]> = {},
  seen: InboundMessage[] = [],
) {
  const { header, steps } = readTranscript(text, 't.chat');
  return runTranscript(steps, {
    handler: fakeBot(seen),
    botNick: 'virtbot',
    prefix: '!',
    place: header.place,
    transport: header.transport,
    people: new People(header.people, header.transport),
    ...extra,
  });
}

const lines = (...l: string[]) => l.join('\n');

describe('places and networks', () => {
  it('says lines in the header place, in another channel, privately, and on a named network', async () => {
    const seen: InboundMessage[] = [];
    const result = await run(
      lines(
        '; place: libera/#ops',
        '<alice> !status',
        '[#dev] <alice> !status',
        '[private] <bob> status',
        '[oftc/#ops] <carol> !status',
        '13:01:02 [oftc/private] <carol> status',
        '[#dev] 13:01:03 <dave> !status',
      ),
      {},
      seen,
    );
    expect(result.failures).toEqual([]);
    expect(seen.map((m) => [m.place.network, m.place.channel, m.place.private, m.replyPrefix])).toEqual([
      ['libera', '#ops', false, '!'],
      ['libera', '#dev', false, '!'],
      ['libera', 'bob', true, ''],
      ['oftc', '#ops', false, '!'],
      ['oftc', 'carol', true, ''],
      ['libera', '#dev', false, '!'],
    ]);
    expect(readTranscript(lines('; place: libera/#ops', '[oftc/#x] <a> hi')).header.networks).toEqual([
      'libera',
      'oftc',
    ]);
  });

  it('refuses a bad header, naming the file and line', () => {
    expect(() => readTranscript('; place: nowhere', 'x.chat')).toThrow(
      "x.chat:1: '; place: nowhere': a place is private, #channel, network/#channel or network/private",
    );
    expect(() => readTranscript('; transport: telegram', 'x.chat')).toThrow(
      "x.chat:1: '; transport: telegram'",
    );
    expect(() => readTranscript('; user alice role=admin', 'x.chat')).toThrow(
      'unknown role= (account=, roles=, system=)',
    );
    expect(() => readTranscript('>>> /x/g', 'x.chat')).toThrow('x.chat:1: regex flags may be i, m, s and u');
    expect(() => readTranscript('~~~ event lab web01 exploded', 'x.chat')).toThrow(
      "x.chat:1: 'exploded' is no lifecycle event",
    );
    expect(() => readTranscript('; transport: discord\n; user a account=alice', 'x.chat')).toThrow(
      'x.chat:2: account=alice: on Discord the account is a user id',
    );
    expect(() => readTranscript('<a> hi\nrandom text', 'x.chat')).toThrow(TranscriptSyntaxError);
  });

  it('reads prose that merely starts like a declaration as a comment', () => {
    const { header } = readTranscript(
      lines('; user alice may stop a VM', '; role of the approver', '<a> hi'),
    );
    expect(header.people).toEqual([]);
    expect(header.roles).toEqual([]);
  });
});

describe('people', () => {
  const header = (transport: string) =>
    readTranscript(
      lines(
        `; transport: ${transport}`,
        '; place: libera/#ops',
        `; user alice account=${transport === 'discord' ? '123456789' : 'alice_acct'} roles=admin,ops`,
        '; user bob',
        '; user mallory unidentified',
        '; role ops permissions=vm.*,!vm.delete',
        '; anonymous roles=',
      ),
    ).header;

  it('gives each line the proof its transport gives', () => {
    const irc = new People(header('irc').people, 'irc');
    expect(irc.sender('alice')).toEqual({ nick: 'alice', account: 'alice_acct' });
    expect(irc.sender('bob')).toEqual({ nick: 'bob', account: 'bob' });
    expect(irc.sender('mallory')).toEqual({ nick: 'mallory' });
    expect(irc.sender('zed')).toEqual({ nick: 'zed', local: true });
    const discord = new People(header('discord').people, 'discord');
    expect(discord.sender('bob')).toEqual({ nick: 'bob', userId: '900000000000000002' });
    expect(new People(header('console').people, 'console').sender('alice')).toEqual({
      nick: 'alice',
      local: true,
    });
  });

  it('puts users, roles and anonymous roles on top of the config', () => {
    const h = header('irc');
    const config = new People(h.people, 'irc').apply(demoConfig('/tmp/x'), h);
    expect(config.users['alice']).toMatchObject({ roles: ['admin', 'ops'], irc: { libera: 'alice_acct' } });
    expect(config.users['bob']).toMatchObject({ roles: [], irc: { libera: 'bob' } });
    expect(config.users['mallory']).toBeUndefined();
    expect(config.roles['ops']).toEqual({ permissions: ['vm.*', '!vm.delete'] });
    expect(config.roles['demo']).toBeDefined();
    expect(config.anonymous.roles).toEqual([]);
  });
});

describe('anchored expectations', () => {
  it('>> counts only the replies to the line just said; >>> scans forward over everything', async () => {
    const text = lines('<alice> !status', '<alice> !help', '>> running');
    const anchored = await run(text);
    expect(anchored.failures).toHaveLength(1);
    expect(anchored.failures[0]!.message).toContain("expected a reply to line 2 containing 'running'");
    expect((await run(text.replace('>> running', '>>> running'))).failures).toEqual([]);
  });

  it('>> lines match in order within the reply, and a later >>> goes on from there', async () => {
    const result = await run(lines('<a> !help', '>> commands:', '>> /^stop VM$/', '>>> help', '!!! nothing'));
    expect(result.failures).toEqual([]);
    const twice = await run(lines('<a> !help', '>> secret', '>> stop VM'));
    expect(twice.failures.map((f) => f.line)).toEqual([3]);
  });

  it('<nick> targets who sees a line, [place] where it shows', async () => {
    const result = await run(
      lines(
        '; transport: irc',
        '<alice> !help',
        '>> <bob> commands:',
        '>> [#test] alice: (3 more lines sent to you privately)',
        '>> [private] <alice> confirm CODE',
        '!!! [private] <bob> confirm CODE',
        '<alice> !secret',
        '!!! <bob> only for',
        '!!! [#test] only for',
        '>> [private] <alice> only for alice',
      ),
    );
    expect(result.failures).toEqual([]);
    const wrong = await run(lines('; transport: irc', '<alice> !secret', '>> <bob> only for alice'));
    expect(wrong.failures[0]!.message).toContain("containing 'only for alice' seen by bob");
    expect(wrong.failures[0]!.message).toContain('+ 2| [private] <alice> only for alice  (notice)');
  });
});

describe('a runaway regex', () => {
  it('fails the expectation naming the regex instead of hanging the run, for >>, >>> and !!!', async () => {
    const say = `<alice> !stop ${'a'.repeat(40)}!`;
    for (const expectation of ['>> /(a+)+$/', '>>> /(a+)+$/', '!!! /(a+)+$/']) {
      const started = Date.now();
      const result = await run(lines(say, expectation, '>>> never checked'));
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(result.failures).toEqual([
        {
          line: 2,
          message: expect.stringContaining('the regex /(a+)+$/ took more than 1 s on one bot line'),
        },
      ]);
    }
    // The same regex on a line it answers quickly is an ordinary match.
    expect((await run(lines('<alice> !stop aaa', '>> /stop (a+)+ is/'))).failures).toEqual([]);
  }, 60_000);
});

describe('codes by name', () => {
  it('$CODE is the last code, $CODE[nick] that person’s last, $CODE#N the Nth; also in literal expectations', async () => {
    const seen: InboundMessage[] = [];
    const result = await run(
      lines(
        '<alice> !stop web01',
        ">> type '!confirm $CODE'",
        '<bob> !stop db01',
        '>> confirm $CODE[bob]',
        '<alice> !confirm $CODE[alice]',
        '>> confirmed CODE1X for alice',
        '<bob> !cancel $CODE#2',
        '>> cancelled $CODE for bob',
        '<bob> !confirm $CODE[nobody]',
        '>> confirmed $CODE[nobody]',
      ),
      {},
      seen,
    );
    expect(result.failures).toEqual([]);
    expect(seen.map((m) => m.text).slice(2)).toEqual([
      'confirm CODE1X',
      'cancel CODE2X',
      'confirm $CODE[nobody]',
    ]);
  });
});

describe('events', () => {
  it('hands ~~~ event lines to the inject hook and checks what the bot announced (the README example)', async () => {
    const injected: InjectedEvent[] = [];
    const inject = async (event: InjectedEvent): Promise<Announcement[]> => {
      injected.push(event);
      return [
        {
          place: { transport: 'irc', network: '', channel: '#ops', private: false },
          replies: [
            {
              text: `${event.vm} on ${event.host}: ${event.state} (${event.detail ?? 'no reason'})`,
              kind: 'reply',
            },
          ],
        },
      ];
    };
    const readme = readFileSync('test/fixtures/events.chat', 'utf8');
    expect((await run(readme, { inject })).failures).toEqual([]);
    expect(injected).toEqual([
      expect.objectContaining({
        type: 'lifecycle',
        host: 'lab',
        vm: 'web01',
        state: 'stopped',
        detail: 'destroyed by virsh',
      }),
    ]);
    const result = await run(
      lines(
        '; transport: irc',
        '<alice> !status',
        '~~~ event lab web01 started',
        '>> running',
        '>>> running',
      ),
      { inject },
    );
    expect(result.failures.map((f) => f.line)).toEqual([4]);
  });

  it('fails an event line when there is no hook, and stops there', async () => {
    const result = await run(lines('~~~ event lab web01 started', '>>> started'));
    expect(result.failures).toEqual([{ line: 1, message: expect.stringContaining('no inject hook') }]);
  });
});

describe('Discord', () => {
  it('a slash command is for the bot anywhere; its private replies are ephemeral; buttons press codes', async () => {
    const seen: InboundMessage[] = [];
    const result = await run(
      lines(
        '; transport: discord',
        '; place: #ops',
        '<bob> /secret',
        '>> [#ops] <bob> only for bob',
        '!!! <alice> only for bob',
        '<bob> @virtbot secret',
        '>> [private] <bob> only for bob',
        '<alice> /stop web01',
        ">> type 'confirm $CODE'",
        '>> [Confirm] [Cancel]',
        '<bob> [Confirm]',
        '>> confirmed $CODE for bob',
        '; pressed to effect, the buttons are gone',
        '<alice> [Cancel]',
      ),
      {},
      seen,
    );
    expect(result.failures).toEqual([{ line: 14, message: 'no [Cancel] button for alice here' }]);
    expect(seen.map((m) => [m.text, m.addressed])).toEqual([
      ['secret', true],
      ['secret', true],
      ['stop web01', true],
      ['confirm CODE1X', true],
    ]);
  });

  it('fails a button press nobody was offered', async () => {
    const result = await run(lines('; transport: discord', '<bob> [Approve]'));
    expect(result.failures[0]).toEqual({ line: 2, message: 'no [Approve] button for bob here' });
  });
});

describe('--update', () => {
  it('rewrites a failing literal from the line it most likely meant, with codes named; leaves regexes alone', async () => {
    const result = await run(
      lines(
        '<alice> !help',
        '>>> commands:',
        '<alice> !stop web01',
        '>> stop web01 needs a confirmation',
        '>>> /no such line/',
        '<alice> !status',
        '>> [#test] test on test: stopped',
      ),
      { update: true },
    );
    expect(result.updates).toEqual([
      { line: 4, text: ">> stop web01 is destructive: type '!confirm $CODE'" },
      { line: 7, text: '>> [#test] test on test: running' },
    ]);
    expect(result.failures.map((f) => f.line)).toEqual([5]);
  });

  it('prefers the reply to the last line over leftovers of earlier ones', async () => {
    const result = await run(lines('<a> !help', '<a> !status', '>>> test on test: runing'), { update: true });
    expect(result.updates).toEqual([{ line: 3, text: '>>> test on test: running' }]);
  });
});
