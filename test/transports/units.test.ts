/** Pure parts of the transports: formatting removal, splitting, quoting, the outbox, slash mapping. */
import { describe, expect, test } from 'vitest';
import type { CommandSpec } from '../../src/command/spec.js';
import { tokenize } from '../../src/grammar/tokenize.js';
import { Outbox } from '../../src/transports/outbox.js';
import {
  buildSlashCommands,
  commandsDiffer,
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
});
