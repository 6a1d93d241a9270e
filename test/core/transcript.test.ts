import { describe, expect, it } from 'vitest';
import type { InboundMessage, Reply } from '../../src/core/types.js';
import {
  addressing,
  parseTranscript,
  runTranscript,
  TranscriptSyntaxError,
} from '../../src/transports/transcript.js';

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
    ];
  };
}
const options = (seen: InboundMessage[]) => ({
  handler: echo(seen),
  botNick: 'virtbot',
  prefix: '!',
  commandWords: new Set(['vm', 'help']),
  day: new Date('2014-04-16T00:00:00Z'),
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

  it('addresses lines by prefix, by mention, or by a leading command word', () => {
    const o = { botNick: 'virtbot', prefix: '!', commandWords: new Set(['vm']) };
    expect(addressing('!vm list', o)).toEqual({ addressed: true, text: 'vm list' });
    expect(addressing('virtbot: vm list', o)).toEqual({ addressed: true, text: 'vm list' });
    expect(addressing('VirtBot, vm list', o)).toEqual({ addressed: true, text: 'vm list' });
    expect(addressing('vm list', o)).toEqual({ addressed: true, text: 'vm list' });
    expect(addressing('hello there', o)).toEqual({ addressed: false, text: 'hello there' });
    expect(addressing('!', o)).toEqual({ addressed: false, text: '!' });
  });
});

describe('running transcripts', () => {
  it('scans forward for >>> and checks !!! against the last message only', async () => {
    const seen: InboundMessage[] = [];
    const steps = parseTranscript(
      [
        '<a> vm one',
        '>>> echo vm one',
        '>>> third line',
        '<a> vm two',
        '!!! echo vm one',
        '>>> echo vm two',
      ].join('\n'),
    );
    const result = await runTranscript(steps, options(seen));
    expect(result.failures).toEqual([]);
    expect(result.output.map((o) => o.text)).toEqual([
      'echo vm one',
      'second line',
      'third line',
      'echo vm two',
      'second line',
      'third line',
    ]);
  });

  it('does not match a reply twice: >>> moves past what it matched', async () => {
    const steps = parseTranscript(['<a> vm one', '>>> second line', '>>> second line'].join('\n'));
    const result = await runTranscript(steps, options([]));
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.line).toBe(3);
  });

  it('fails a negative check that matches', async () => {
    const steps = parseTranscript(['<a> vm one', '!!! /second/'].join('\n'));
    const result = await runTranscript(steps, options([]));
    expect(result.failures[0]!.message).toContain('expected no reply to line 1 matching /second/, but got:');
  });

  it('sets the clock from HH:MM:SS and substitutes $CODE with the last confirmation code', async () => {
    const seen: InboundMessage[] = [];
    const steps = parseTranscript(
      ['13:01:55 <a> vm destroy', '<a> !destroy', '13:02:00 <a> !confirm $CODE'].join('\n'),
    );
    await runTranscript(steps, options(seen));
    expect(seen[0]!.time.toISOString()).toBe('2014-04-16T13:01:55.000Z');
    expect(seen[1]!.time.toISOString()).toBe('2014-04-16T13:01:55.000Z');
    expect(seen[2]).toMatchObject({ text: 'confirm K7QX2P', addressed: true });
    expect(seen[2]!.time.toISOString()).toBe('2014-04-16T13:02:00.000Z');
  });

  it('sends actions and chatter unaddressed, with the sender marked local', async () => {
    const seen: InboundMessage[] = [];
    await runTranscript(parseTranscript('* bob waves\n<bob> #info hello'), options(seen));
    expect(seen.map((m) => [m.action ?? false, m.addressed, m.text, m.sender])).toEqual([
      [true, false, 'waves', { nick: 'bob', local: true }],
      [false, false, '#info hello', { nick: 'bob', local: true }],
    ]);
  });
});
