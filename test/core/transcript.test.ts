/**
 * Transcripts: the format, the one addressing module they share with the transports
 * (src/transports/address.ts), and the runner — a channel (#test) unless `; place:` says
 * otherwise, where only `!cmd` and `virtbot: cmd` lines are commands; in `; place: private`
 * every line is. First with a handler that echoes what it was given, then through a real bot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent, InboundMessage, Reply } from '../../src/core/types.js';
import { address, replyPrefix } from '../../src/transports/address.js';
import {
  parseTranscript,
  runTranscript,
  type TranscriptPlace,
  TranscriptSyntaxError,
  transcriptPlace,
} from '../../src/transports/transcript.js';
import { startBot, type TestBot } from '../harness/bot.js';

/** A handler that echoes what it was given, so the tests see exactly what the runner sent. */
function echo(seen: InboundMessage[]) {
  return async (msg: InboundMessage): Promise<Reply[]> => {
    seen.push(msg);
    if (!msg.addressed) return [];
    if (msg.text === 'destroy')
      return [{ text: 'type confirm K7QX2P', kind: 'confirm', confirmCode: 'K7QX2P' }];
    return [
      { text: `echo ${msg.text}`, kind: 'reply' },
      { text: 'second line\nthird line', kind: 'reply' },
      { text: 'for you only', kind: 'reply', private: true },
    ];
  };
}
const options = (seen: InboundMessage[], place?: TranscriptPlace, observe?: (e: ChatEvent) => void) => ({
  handler: echo(seen),
  botNick: 'virtbot',
  prefix: '!',
  day: new Date('2014-04-16T00:00:00Z'),
  ...(place ? { place } : {}),
  ...(observe ? { observe } : {}),
});

describe('transcript format', () => {
  it('reads said lines, actions, times, expectations and comments', () => {
    const steps = parseTranscript(
      [
        '; comment',
        '',
        '13:01:55 <alinefm> #startmeeting',
        '* royce waves',
        '>>> Meeting started',
        '>>> /chair is \\w+/i',
        '!!! error',
      ].join('\n'),
    );
    expect(steps).toEqual([
      { kind: 'say', line: 3, nick: 'alinefm', text: '#startmeeting', action: false, time: '13:01:55' },
      { kind: 'say', line: 4, nick: 'royce', text: 'waves', action: true },
      { kind: 'expect', line: 5, negative: false, pattern: 'Meeting started' },
      { kind: 'expect', line: 6, negative: false, pattern: /chair is \w+/i },
      { kind: 'expect', line: 7, negative: true, pattern: 'error' },
    ]);
  });

  it('refuses a line it cannot read, naming the file and line', () => {
    expect(() => parseTranscript('<a> hi\nrandom text', 'x.chat')).toThrow(TranscriptSyntaxError);
    expect(() => parseTranscript('<a> hi\nrandom text', 'x.chat')).toThrow(
      'x.chat:2: cannot read this line: random text',
    );
  });

  it('is a channel named #test unless a place header says otherwise', () => {
    expect(transcriptPlace('<a> hi')).toEqual({ channel: '#test', private: false });
    expect(transcriptPlace('; a comment\n; place: private\n<a> hi')).toEqual({ channel: '', private: true });
    expect(transcriptPlace('; Place: PRIVATE')).toEqual({ channel: '', private: true });
    expect(transcriptPlace('; place: #ops\n<a> hi')).toEqual({ channel: '#ops', private: false });
    // A header is a comment line of its own, not text someone says.
    expect(transcriptPlace('<a> ; place: private')).toEqual({ channel: '#test', private: false });
  });
});

describe('addressing', () => {
  const rules = { prefix: '!', names: ['virtbot'], mentionIds: ['123456'] };
  const channel = { direct: false };
  const direct = { direct: true };

  it('in a channel, takes only the prefix, the name or a mention as addressing the bot', () => {
    expect(address('!vm list', channel, rules)).toEqual({ addressed: true, text: 'vm list', via: 'prefix' });
    expect(address('virtbot: vm list', channel, rules)).toEqual({
      addressed: true,
      text: 'vm list',
      via: 'name',
    });
    expect(address('VirtBot, vm list', channel, rules)).toEqual({
      addressed: true,
      text: 'vm list',
      via: 'name',
    });
    expect(address('@virtbot vm list', channel, rules)).toEqual({
      addressed: true,
      text: 'vm list',
      via: 'name',
    });
    expect(address('<@123456> vm list', channel, rules)).toEqual({
      addressed: true,
      text: 'vm list',
      via: 'mention',
    });
    expect(address('<@!123456>, vm list', channel, rules)).toMatchObject({
      addressed: true,
      text: 'vm list',
    });
    for (const chatter of [
      'vm list',
      'hello there',
      '!',
      '! look',
      'virtbot vm list',
      'virtbotx: vm list',
      '<@999> vm list',
      ' !vm list',
    ])
      expect(address(chatter, channel, rules), chatter).toEqual({
        addressed: false,
        text: chatter,
        via: 'none',
      });
  });

  it('in a direct conversation, takes every line, its address stripped', () => {
    expect(address('vm list', direct, rules)).toEqual({ addressed: true, text: 'vm list', via: 'direct' });
    expect(address('  vm list  ', direct, rules)).toEqual({
      addressed: true,
      text: 'vm list',
      via: 'direct',
    });
    expect(address('!vm list', direct, rules)).toEqual({ addressed: true, text: 'vm list', via: 'prefix' });
    expect(address('virtbot: vm list', direct, rules)).toMatchObject({ addressed: true, text: 'vm list' });
  });

  it('never takes an action line, anywhere', () => {
    expect(address('!vm list', { direct: false, action: true }, rules)).toEqual({
      addressed: false,
      text: '!vm list',
      via: 'none',
    });
    expect(address('vm list', { direct: true, action: true }, rules).addressed).toBe(false);
  });

  it('tells how a person types back: the prefix in a channel, nothing in a direct conversation', () => {
    expect(replyPrefix(channel, rules)).toBe('!');
    expect(replyPrefix(direct, rules)).toBe('');
  });
});

describe('running transcripts', () => {
  it('is a channel by default: only addressed lines go to the bot as commands, with the prefix to type back', async () => {
    const seen: InboundMessage[] = [];
    const steps = parseTranscript(['<a> vm one', '<a> !vm two', '<a> virtbot: vm three'].join('\n'));
    const result = await runTranscript(steps, options(seen));
    expect(seen.map((m) => [m.addressed, m.text, m.replyPrefix])).toEqual([
      [false, 'vm one', '!'],
      [true, 'vm two', '!'],
      [true, 'vm three', '!'],
    ]);
    expect(seen[0]!.place).toEqual({
      transport: 'transcript',
      network: '',
      channel: '#test',
      private: false,
    });
    expect(seen[0]!.sender).toEqual({ nick: 'a', local: true });
    expect(result.output.map((o) => o.cause)).toEqual([2, 2, 2, 2, 3, 3, 3, 3]);
  });

  it('is a private conversation with `; place: private`: every line is for the bot, each person their own', async () => {
    const seen: InboundMessage[] = [];
    const text = ['; place: private', '<alice> vm one', '<bob> !vm two'].join('\n');
    await runTranscript(parseTranscript(text), options(seen, transcriptPlace(text)));
    expect(seen.map((m) => [m.addressed, m.text, m.replyPrefix, m.place])).toEqual([
      [true, 'vm one', '', { transport: 'transcript', network: '', channel: 'alice', private: true }],
      [true, 'vm two', '', { transport: 'transcript', network: '', channel: 'bob', private: true }],
    ]);
  });

  it('says lines in the channel a `; place:` header names', async () => {
    const seen: InboundMessage[] = [];
    const text = '; place: #ops\n<a> !vm one';
    await runTranscript(parseTranscript(text), options(seen, transcriptPlace(text)));
    expect(seen[0]!.place.channel).toBe('#ops');
  });

  it('scans forward for >>> and checks !!! against the last message only', async () => {
    const steps = parseTranscript(
      [
        '<a> !vm one',
        '>>> echo vm one',
        '>>> third line',
        '<a> !vm two',
        '!!! echo vm one',
        '>>> echo vm two',
        '<a> chatter',
        '!!! /./',
      ].join('\n'),
    );
    const result = await runTranscript(steps, options([]));
    expect(result.failures).toEqual([]);
    expect(result.output.map((o) => o.text)).toEqual([
      'echo vm one',
      'second line',
      'third line',
      'for you only',
      'echo vm two',
      'second line',
      'third line',
      'for you only',
    ]);
  });

  it('does not match a reply twice: >>> moves past what it matched', async () => {
    const steps = parseTranscript(['<a> !vm one', '>>> second line', '>>> second line'].join('\n'));
    const result = await runTranscript(steps, options([]));
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.line).toBe(3);
  });

  it('fails a negative check that matches', async () => {
    const steps = parseTranscript(['<a> !vm one', '!!! /second/'].join('\n'));
    const result = await runTranscript(steps, options([]));
    expect(result.failures[0]!.message).toContain('expected no reply to line 1 matching /second/, but got:');
  });

  it('sets the clock from HH:MM:SS and substitutes $CODE with the last confirmation code', async () => {
    const seen: InboundMessage[] = [];
    const steps = parseTranscript(
      ['13:01:55 <a> !vm destroy', '<a> !destroy', '13:02:00 <a> !confirm $CODE', '<a> confirm $CODE'].join(
        '\n',
      ),
    );
    await runTranscript(steps, options(seen));
    expect(seen[0]!.time.toISOString()).toBe('2014-04-16T13:01:55.000Z');
    expect(seen[1]!.time.toISOString()).toBe('2014-04-16T13:01:55.000Z');
    expect(seen[2]).toMatchObject({ text: 'confirm K7QX2P', addressed: true });
    expect(seen[2]!.time.toISOString()).toBe('2014-04-16T13:02:00.000Z');
    // Without the prefix the code is substituted too; whether it is for the bot, the bot decides.
    expect(seen[3]).toMatchObject({ text: 'confirm K7QX2P', addressed: false });
  });

  it('sends actions and chatter unaddressed, with the sender marked local', async () => {
    const seen: InboundMessage[] = [];
    await runTranscript(parseTranscript('* bob !vm list\n<bob> #info hello'), options(seen));
    expect(seen.map((m) => [m.action ?? false, m.addressed, m.text, m.sender])).toEqual([
      [true, false, '!vm list', { nick: 'bob', local: true }],
      [false, false, '#info hello', { nick: 'bob', local: true }],
    ]);
  });

  it('tells what the bot said in a channel, as a transport would, but not its private replies', async () => {
    const events: ChatEvent[] = [];
    await runTranscript(
      parseTranscript('<a> !vm one'),
      options([], undefined, (e) => events.push(e)),
    );
    expect(events.map((e) => (e.type === 'sent' ? e.text : e.type))).toEqual([
      'echo vm one',
      'second line',
      'third line',
    ]);
    const quiet: ChatEvent[] = [];
    const text = '; place: private\n<a> vm one';
    await runTranscript(
      parseTranscript(text),
      options([], transcriptPlace(text), (e) => quiet.push(e)),
    );
    expect(quiet).toEqual([]);
  });
});

describe('transcripts through a real bot', () => {
  let t: TestBot | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const demo = {
    bot: { nick: 'virtbot', prefix: '!' },
    hosts: [{ name: 'test', uri: 'test:///default' }],
    roles: { demo: { permissions: ['*'] } },
    anonymous: { roles: ['demo'] },
  };
  const run = async (text: string) => {
    t = await startBot(demo);
    const result = await runTranscript(parseTranscript(text, 'x.chat'), {
      handler: t.bot.handle,
      place: transcriptPlace(text),
      botNick: 'virtbot',
      prefix: '!',
    });
    return result;
  };

  it('in a channel, answers commands and leaves chatter alone; a bare confirm counts only for its owner', async () => {
    const result = await run(
      [
        '<alice> vm list',
        '!!! /./',
        '<alice> !vm list',
        '>>> 1 VM on test',
        '<alice> virtbot: vm info test',
        '>>> test on test: running',
        '<alice> !vm stop test',
        ">>> /^vm stop is destructive: type '!confirm [A-Z2-9]{6}'/",
        '<mallory> confirm $CODE',
        '!!! /./',
        '<alice> confirm $CODE',
        '>>> stopped test (forced off)',
        '<alice> !vm info test',
        '>>> test on test: shut off',
      ].join('\n'),
    );
    expect(result.failures).toEqual([]);
  });

  it('in private, takes every line as a command, and codes are typed back without a prefix', async () => {
    const result = await run(
      [
        '; place: private',
        '<alice> vm list',
        '>>> 1 VM on test',
        '<alice> vm stop test',
        ">>> /^vm stop is destructive: type 'confirm [A-Z2-9]{6}'/",
        '<alice> cancel $CODE',
        '>>> cancelled: vm stop test',
      ].join('\n'),
    );
    expect(result.failures).toEqual([]);
  });
});
