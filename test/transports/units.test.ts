/** Pure parts of the transports: formatting removal, splitting, quoting, the outbox, slash mapping. */
import { describe, expect, test, vi } from 'vitest';
import { allGroups } from '../../commands/index.js';
import { CommandRegistry } from '../../src/command/registry.js';
import type { CommandSpec } from '../../src/command/spec.js';
import type { Reply } from '../../src/core/types.js';
import { tokenize } from '../../src/grammar/tokenize.js';
import { budget } from '../../src/transports/budget.js';
import { registrationErrors, trimChoices } from '../../src/transports/discord.js';
import { Outbox } from '../../src/transports/outbox.js';
import { discordText, isInertDiscordText, plainLine, plainLines } from '../../src/transports/sanitize.js';
import {
  buildSlashCommands,
  commandSize,
  commandsDiffer,
  description,
  invocationToText,
  routeKey,
} from '../../src/transports/slash.js';
import { chunkText, quoteArg, splitLine, stripIrcFormatting, utf8Bytes } from '../../src/transports/text.js';
import { backoffDelay } from '../../src/transports/transport.js';

describe('text', () => {
  test('IRC formatting codes are stripped', () => {
    expect(
      stripIrcFormatting(
        '\x02b\x02 \x0304,12c\x03 \x034x\x03 \x1Di\x1D \x1Fu\x1F \x16r\x16 \x0F\x1Es\x11m \x04ff0000hex',
      ),
    ).toBe('b c x i u r sm hex');
  });

  test('splitting by bytes never cuts a UTF-8 sequence and prefers word boundaries', () => {
    const text = 'ü'.repeat(30);
    const parts = splitLine(text, 11);
    for (const p of parts) expect(utf8Bytes(p)).toBeLessThanOrEqual(11);
    expect(parts.join('')).toBe(text);
    expect(splitLine('alpha beta gamma delta', 11)).toEqual(['alpha beta', 'gamma delta']);
    expect(splitLine('🙂🙂🙂', 5)).toEqual(['🙂', '🙂', '🙂']);
    expect(splitLine('   ', 10)).toEqual([]);
  });

  test('chunks keep lines together under the limit', () => {
    const text = ['a'.repeat(8), 'b'.repeat(8), 'c'.repeat(25)].join('\n');
    const chunks = chunkText(text, 20);
    expect(chunks).toEqual(['aaaaaaaa\nbbbbbbbb', 'c'.repeat(20), 'c'.repeat(5)]);
  });

  test('values are quoted only when the tokenizer would misread them', () => {
    expect(quoteArg('web01')).toBe('web01');
    expect(quoteArg('two words')).toBe('"two words"');
    expect(quoteArg('a=b')).toBe('"a=b"');
    expect(quoteArg('--flag')).toBe('"--flag"');
    expect(quoteArg('say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
    expect(quoteArg('')).toBe('""');
  });

  test('backoff doubles with jitter up to the maximum', () => {
    expect(backoffDelay(0, 100, 1000, () => 0.5)).toBe(100);
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(800);
    expect(backoffDelay(10, 100, 1000, () => 0.5)).toBe(1000);
    expect(backoffDelay(10, 100, 1000, () => 1)).toBe(1200);
  });
});

describe('outbox', () => {
  test('a burst, then paced at the rate, in order; paused while disconnected', async () => {
    let now = 0;
    const sent: number[] = [];
    const box = new Outbox<number>((n) => sent.push(n), { burst: 3, rate: 1000, now: () => now });
    box.push(1, 2, 3, 4, 5);
    expect(sent).toEqual([]); // paused until resume() (connected)
    box.resume();
    expect(sent).toEqual([1, 2, 3]);
    now += 2; // two tokens later
    await box.idle();
    expect(sent).toEqual([1, 2, 3, 4, 5]);
    box.pause();
    box.push(6);
    expect(sent).toHaveLength(5);
    now += 10;
    box.resume();
    expect(sent).toEqual([1, 2, 3, 4, 5, 6]);
    box.close();
  });

  test('drops the oldest beyond maxQueue', () => {
    const dropped: number[] = [];
    const box = new Outbox<number>(() => {}, {
      burst: 1,
      rate: 1,
      maxQueue: 2,
      onDrop: (n) => dropped.push(n),
    });
    box.push(1, 2, 3, 4);
    expect(box.size).toBe(2);
    expect(dropped).toEqual([2]);
    box.close();
  });
});

describe('fair outbox', () => {
  test('requesters take turns; all anonymous requesters share one turn; order within a requester is kept', () => {
    const sent: string[] = [];
    const box = new Outbox<string>((s) => sent.push(s), { burst: 100, rate: 1000 });
    box.enqueue({ key: 'a1', anonymous: true }, ['a1.1', 'a1.2', 'a1.3']);
    box.enqueue({ key: 'a2', anonymous: true }, ['a2.1', 'a2.2']);
    box.enqueue({ key: 'alice' }, ['alice.1', 'alice.2']);
    box.enqueue({ key: 'bob' }, ['bob.1']);
    box.resume();
    expect(sent).toEqual(['a1.1', 'alice.1', 'bob.1', 'a2.1', 'alice.2', 'a1.2', 'a2.2', 'a1.3']);
    box.close();
  });

  test('a full window holds its lines while other targets go on; it never holds more than its limit', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const sent: Array<{ at: number; item: string }> = [];
      const box = new Outbox<string>((item) => sent.push({ at: performance.now(), item }), {
        burst: 100,
        rate: 1000,
        windowOf: (item) => (item.startsWith('#') ? { key: '#c', lines: 3, ms: 1000 } : undefined),
      });
      const start = performance.now();
      box.enqueue({ key: 'x' }, ['#1', '#2', '#3', '#4', '#5', '#6', '#7']);
      box.enqueue({ key: 'y' }, ['pm1', 'pm2']);
      box.resume();
      expect(sent.map((s) => s.item)).toEqual(['#1', 'pm1', '#2', 'pm2', '#3']);
      vi.advanceTimersByTime(999);
      expect(sent).toHaveLength(5);
      vi.advanceTimersByTime(1);
      expect(sent.map((s) => s.item).slice(5)).toEqual(['#4', '#5', '#6']);
      vi.advanceTimersByTime(1000);
      expect(sent.map((s) => s.item).slice(8)).toEqual(['#7']);
      const channel = sent.filter((s) => s.item.startsWith('#')).map((s) => s.at - start);
      for (const at of channel)
        expect(channel.filter((t) => t >= at && t < at + 1000).length).toBeLessThanOrEqual(3);
      box.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('output budget', () => {
  const reply = (text: string, extra: Partial<Reply> = {}): Reply => ({ text, kind: 'reply', ...extra });
  const options = (channelLines: number, privateLines = 50) => ({
    direct: false,
    limits: { channelLines, privateLines },
    lines: (t: string) => plainLines(t).filter((l) => l !== ''),
    movedNote: (n: number) => `(${n} more lines sent to you privately)`,
  });

  test('a unit that fits stays in the channel', () => {
    expect(budget([reply('VMs on test: 2', { lines: ['a', 'b'] })], options(4))).toEqual({
      here: ['VMs on test: 2', 'a', 'b'],
      privately: [],
      moved: 0,
      dropped: 0,
    });
  });

  test('one reply with many lines, or many one-line replies: one budget, summaries first', () => {
    const one = budget(
      [reply('VMs on test: 30', { lines: Array.from({ length: 30 }, (_, i) => `vm${i}`) })],
      options(4),
    );
    expect(one.here).toEqual(['VMs on test: 30', '(30 more lines sent to you privately)']);
    expect(one.privately).toHaveLength(30);
    const many = budget(
      Array.from({ length: 20 }, (_, i) => reply(`line ${i}`)),
      options(4),
    );
    expect(many.here).toEqual(['line 0', 'line 1', 'line 2', '(17 more lines sent to you privately)']);
    expect(many.privately).toEqual(Array.from({ length: 17 }, (_, i) => `line ${i + 3}`));
  });

  test('private replies go privately; beyond the private budget lines are left out with a note', () => {
    const out = budget(
      [
        reply('denied: no', { private: true }),
        reply('x', { lines: Array.from({ length: 10 }, (_, i) => `${i}`) }),
      ],
      options(2, 5),
    );
    expect(out.here).toEqual(['x', '(10 more lines sent to you privately)']);
    expect(out.privately.slice(0, 4)).toEqual(['denied: no', '0', '1', '2']);
    expect(out.privately[4]).toMatch(/^… 7 more lines not shown/);
    expect(out.dropped).toBe(7);
  });

  test('in a private conversation everything is said there, within the private budget', () => {
    const out = budget([reply('a', { lines: ['b', 'c'] })], { ...options(1, 2), direct: true });
    expect(out.here).toEqual(['a', expect.stringMatching(/^… 2 more lines not shown/)]);
  });
});

describe('sanitize', () => {
  test('control characters are shown, never sent; bidi and zero-width characters are shown', () => {
    const nasty = "cannot judge '\u0001DCC SEND y\u0001\u001b[2J\u0007'";
    expect(plainLine(nasty)).toBe("cannot judge '<U+0001>DCC SEND y<U+0001><U+001B>[2J<U+0007>'");
    expect(plainLine('a\u202Eb\u200Bc\uFEFFd\r\ne\tf\u0000')).toBe(
      'a<U+202E>b<U+200B>c<U+FEFF>d<U+000D><U+000A>e f<U+0000>',
    );
    expect(plainLines('one\r\ntwo\nthree')).toEqual(['one', 'two', 'three']);
    expect(plainLine('\uD800x')).toBe('\uFFFDx');
    expect(plainLine('web01 — ünïcödé 🙂')).toBe('web01 — ünïcödé 🙂');
  });

  test('Discord text cannot mention or format', () => {
    for (const text of [
      '@everyone',
      '@here now',
      '**bold**',
      '||spoiler||',
      '<@&123> <#456> <@789>',
      '# head',
      '> quote',
      '- item',
      '1. first',
      '[x](https://evil)',
      '`code`',
    ]) {
      const out = discordText(text);
      expect(isInertDiscordText(out)).toBe(true);
    }
    expect(discordText('@everyone')).toBe('@\u200beveryone');
    expect(discordText('**bold**')).toBe('\\*\\*bold\\*\\*');
    expect(discordText('see https://example.org/a_b_c (minutes)')).toBe(
      'see https://example.org/a_b_c (minutes)',
    );
    expect(isInertDiscordText('**bold**')).toBe(false);
  });
});

describe('slash commands', () => {
  const run = async () => ({ reply: '' });
  const specs: CommandSpec[] = [
    {
      path: ['vm', 'nic', 'add'],
      summary: 'Add a NIC',
      args: [
        { name: 'vm', type: 'vm', positional: true, required: true, help: 'VM' },
        { name: 'network', type: 'network', help: 'Network' },
        { name: 'count', type: 'int', min: 1, max: 8, help: 'How many' },
        { name: 'start', type: 'bool', help: 'Start it' },
      ],
      examples: [],
      run,
    },
    {
      path: ['vm', 'disk', 'attach'],
      summary: 'Attach',
      args: [
        { name: 'vm', type: 'vm', positional: true, required: true, help: 'VM' },
        { name: 'size', type: 'size', positional: true, help: 'Size' },
        { name: 'path', type: 'path', positional: true, required: true, help: 'Path' },
      ],
      examples: [],
      run,
    },
    { path: ['a', 'b', 'c', 'd'], summary: 'Deep', args: [], examples: [], run },
    { path: ['vm', 'nic'], summary: 'Clashes with the group', args: [], examples: [], run },
  ];
  const set = buildSlashCommands(specs, { autocomplete: true });

  test('paths map to commands, groups and subcommands; deep paths join their tail; clashes are skipped', () => {
    const keys = [...set.routes.keys()];
    expect(keys).toEqual(
      expect.arrayContaining(['vm nic add', 'vm disk attach', 'a b c-d', 'meeting start', 'meeting end']),
    );
    expect(keys).not.toContain('vm nic');
    expect(set.skipped).toEqual(['vm nic: the slash name is already taken']);
    const attach = set.routes.get(routeKey('vm', 'disk', 'attach'))!;
    expect(attach.spec!.path).toEqual(['vm', 'disk', 'attach']);
    const vm = set.commands.find((c) => c.name === 'vm')!;
    const disk = vm.options!.find((o) => o.name === 'disk')!;
    // Required options first.
    expect(disk.options![0]!.options!.map((o) => o.name)).toEqual(['vm', 'path', 'size']);
  });

  test('an invocation becomes the command line; a gap in positionals switches to name=value', () => {
    const nic = set.routes.get('vm nic add')!;
    expect(invocationToText(nic, { vm: 'web01', network: 'default' })).toBe(
      'vm nic add web01 network=default',
    );
    expect(invocationToText(nic, { vm: 'web 01', count: 2, start: false })).toBe(
      'vm nic add "web 01" count=2 start=no',
    );
    const attach = set.routes.get('vm disk attach')!;
    expect(invocationToText(attach, { vm: 'db', path: '/srv/a b.img' })).toBe(
      'vm disk attach db path="/srv/a b.img"',
    );
    expect(invocationToText(set.routes.get('meeting topic')!, { text: 'Budget' })).toBe('#topic Budget');
    expect(invocationToText(set.routes.get('meeting end')!, {})).toBe('#endmeeting');
  });

  test("the command line reads back with the grammar's tokenizer", () => {
    const nic = set.routes.get('vm nic add')!;
    const line = invocationToText(nic, { vm: 'we"b 01', network: 'a=b c' });
    const tokens = tokenize(line);
    expect(tokens.map((t) => [t.key ?? null, t.value])).toEqual([
      [null, 'vm'],
      [null, 'nic'],
      [null, 'add'],
      [null, 'we"b 01'],
      ['network', 'a=b c'],
    ]);
  });

  test('comparison ignores what Discord adds and the order of commands', () => {
    const stored = set.commands.map((c) => ({ ...c, id: '1', version: '2', application_id: '3' })).reverse();
    expect(commandsDiffer(stored, set.commands)).toBe(false);
    const changed = structuredClone(stored);
    changed[0]!.description = 'different';
    expect(commandsDiffer(changed, set.commands)).toBe(true);
  });

  test('the real declarations fit Discord: sizes, descriptions shortened at a clause, not mid-word', () => {
    const real = buildSlashCommands(new CommandRegistry(allGroups()).all(), {
      autocomplete: true,
      destructivePermission: '32',
    });
    expect(real.skipped).toEqual([]);
    for (const command of real.commands) {
      expect(commandSize(command)).toBeLessThanOrEqual(8000);
      expect(command).toMatchObject({ contexts: [0], integration_types: [0] });
      const walk = (o: { description: string; options?: Array<{ description: string }> }) => {
        expect(o.description.length).toBeLessThanOrEqual(100);
        expect(o.description.endsWith('…')).toBe(false);
        for (const x of o.options ?? []) walk(x as never);
      };
      walk(command);
    }
    expect(real.commands.find((c) => c.name === 'vm')?.default_member_permissions).toBe('32');
    expect(real.commands.find((c) => c.name === 'help')?.default_member_permissions).toBeUndefined();
    expect(
      description(
        'add a new volume (size=10G [pool=P]) or an existing image (path=/…) as a disk; hotplugged when the VM runs, in the definition always',
      ),
    ).toBe('add a new volume (size=10G [pool=P]) or an existing image (path=/…) as a disk');
    expect(
      description(
        'say whether USER may run COMMAND, and which rule or role decides (quote COMMAND if it has key=value pairs or spaces in it)',
      ),
    ).toBe('say whether USER may run COMMAND, and which rule or role decides');
  });

  test('a command over 8000 characters gives up its groups as commands of their own; routes follow', () => {
    const long = 'x'.repeat(95);
    const big: CommandSpec[] = [];
    for (const group of ['alpha', 'beta', 'gamma', 'delta']) {
      for (let i = 0; i < 5; i++) {
        big.push({
          path: ['big', group, `c${i}`],
          summary: long,
          args: Array.from({ length: 4 }, (_, j) => ({ name: `a${j}`, type: 'text' as const, help: long })),
          examples: [],
          run,
        });
      }
    }
    const split = buildSlashCommands(big, { meeting: false });
    for (const command of split.commands) expect(commandSize(command)).toBeLessThanOrEqual(8000);
    expect(split.commands.map((c) => c.name).sort()).toContain('big');
    expect(split.commands.length).toBeGreaterThan(1);
    expect(split.notes[0]).toMatch(
      /^\/big is over Discord's 8000 characters: \/big \w+ … is registered as \/big-\w+ …$/,
    );
    const moved = split.commands.find((c) => c.name.startsWith('big-'))!;
    const group = moved.name.slice(4);
    expect(split.routes.get(`${moved.name} c0`)?.spec?.path).toEqual(['big', group, 'c0']);
  });

  test('autocomplete answers are trimmed to what Discord takes', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `n${i}`, value: `v${i}` }));
    expect(trimChoices(many)).toHaveLength(25);
    expect(
      trimChoices([
        { name: 'x'.repeat(120), value: 'ok' },
        { name: 'bad', value: 'y'.repeat(101) },
        { name: 'dup', value: 'ok' },
        { name: '\u0007', value: 'bell' },
      ]),
    ).toEqual([
      { name: `${'x'.repeat(99)}…`, value: 'ok' },
      { name: '<U+0007>', value: 'bell' },
    ]);
  });

  test('registration errors are named, not indexed', () => {
    const commands = buildSlashCommands(specs, { meeting: false }).commands;
    const vm = commands.findIndex((c) => c.name === 'vm');
    const nic = commands[vm]!.options!.findIndex((o) => o.name === 'nic');
    expect(
      registrationErrors(
        {
          [vm]: {
            options: {
              [nic]: {
                options: {
                  0: {
                    options: {
                      1: {
                        description: { _errors: [{ code: 'X', message: 'Must be 100 or fewer in length.' }] },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        commands,
      ),
    ).toEqual(["/vm nic add: option 'network': description: Must be 100 or fewer in length."]);
  });
});
