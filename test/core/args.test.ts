import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../src/command/parse-args.js';
import { CommandRegistry, ResolveError } from '../../src/command/registry.js';
import type { CommandGroup, CommandSpec } from '../../src/command/spec.js';
import { usageLine } from '../../src/command/usage.js';
import { tokenize } from '../../src/grammar/tokenize.js';
import { formatKiB, parseSize } from '../../src/grammar/types.js';

const run = async () => ({ reply: 'done' });

const nicAdd: CommandSpec = {
  path: ['vm', 'nic', 'add'],
  summary: 'add a NIC',
  args: [
    { name: 'vm', type: 'vm', positional: true, required: true, help: 'the VM' },
    { name: 'network', type: 'network', help: 'network' },
    { name: 'model', type: 'enum', choices: ['virtio', 'e1000', 'rtl8139'], help: 'model' },
    { name: 'mac', type: 'mac', help: 'MAC' },
    { name: 'host', type: 'host', help: 'host' },
    { name: 'live', type: 'bool', help: 'live' },
  ],
  examples: [],
  run,
};
const usersAdd: CommandSpec = {
  path: ['vm', 'users', 'add'],
  summary: 'grant users',
  args: [
    { name: 'vm', type: 'vm', positional: true, required: true, help: 'the VM' },
    { name: 'names', type: 'names', positional: true, required: true, help: 'user names' },
  ],
  examples: [],
  run,
};
const memSet: CommandSpec = {
  path: ['vm', 'memory', 'set'],
  summary: 'memory',
  args: [
    { name: 'vm', type: 'vm', positional: true, required: true, help: 'the VM' },
    { name: 'size', type: 'size', positional: true, required: true, help: 'size' },
    { name: 'count', type: 'int', min: 1, max: 8, help: 'count' },
  ],
  examples: [],
  run,
};
const nicList: CommandSpec = { path: ['vm', 'nic', 'list'], summary: 'l', args: [], examples: [], run };
const vmList: CommandSpec = { path: ['vm', 'list'], summary: 'l', args: [], examples: [], run };
const vm: CommandGroup = {
  name: 'vm',
  summary: 'VMs',
  aliases: { iface: 'nic' },
  commands: [nicAdd, usersAdd, memSet, nicList, vmList],
};
const ctx = { hostNames: ['test', 'prod-1'], now: () => new Date('2026-11-25T12:00:00Z') };
const parse = (spec: CommandSpec, line: string) => parseArgs(spec, tokenize(line), ctx);

describe('command resolution', () => {
  const registry = new CommandRegistry([vm]);
  const resolve = (line: string) => registry.resolve(tokenize(line));

  it('takes the longest declared path', () => {
    expect(resolve('vm nic add web01').spec).toBe(nicAdd);
    expect(resolve('vm nic add web01').consumed).toBe(3);
    expect(resolve('vm list').spec).toBe(vmList);
  });

  it('applies group and common aliases', () => {
    expect(resolve('vm iface add web01').spec).toBe(nicAdd);
    expect(resolve('vm nic ls').spec).toBe(nicList);
    expect(resolve('VM NIC ADD web01').spec).toBe(nicAdd);
  });

  it('suggests the closest command', () => {
    expect(() => resolve('vm nick add x')).toThrow("unknown command 'vm nick' — did you mean 'vm nic'?");
    expect(() => resolve('vn list')).toThrow("unknown command 'vn' — did you mean 'vm'?");
    expect(() => resolve('frobnicate')).toThrow("unknown command 'frobnicate' (try 'help')");
  });

  it('says which subcommands an incomplete path takes', () => {
    expect(() => resolve('vm nic')).toThrow("'vm nic' needs a subcommand: add, list");
  });

  it('does not take a quoted word as a path word', () => {
    expect(() => resolve('vm "list"')).toThrow(ResolveError);
  });

  it('refuses to register a command twice', () => {
    expect(() => new CommandRegistry([vm, vm])).toThrow('registered twice');
  });
});

describe('argument binding', () => {
  it('binds positionals and named arguments with their types', () => {
    expect(parse(nicAdd, 'web01 network=default model=E1000 mac=52:54:00:AA:bb:01 --live')).toEqual({
      vm: 'web01',
      network: 'default',
      model: 'e1000',
      mac: '52:54:00:aa:bb:01',
      live: true,
    });
  });

  it('accepts a positional by name', () => {
    expect(parse(nicAdd, 'vm=web01')).toEqual({ vm: 'web01' });
  });

  it('takes the rest of the line into a names list, commas or spaces', () => {
    expect(parse(usersAdd, 'web01 alice bob,carol alice')).toEqual({
      vm: 'web01',
      names: ['alice', 'bob', 'carol'],
    });
  });

  it('converts sizes to KiB', () => {
    expect(parse(memSet, 'web01 2G')).toMatchObject({ size: 2 * 1024 * 1024 });
    expect(parse(memSet, 'web01 512M')).toMatchObject({ size: 512 * 1024 });
    expect(parse(memSet, 'web01 1024')).toMatchObject({ size: 1024 });
    expect(parse(memSet, 'web01 1.5GiB')).toMatchObject({ size: 1536 * 1024 });
  });

  const usage = usageLine(nicAdd);
  it.each([
    ['', `missing VM — usage: ${usage}`],
    [
      'web01 netwrk=default',
      `unknown option 'netwrk' for vm nic add — did you mean 'network'? — usage: ${usage}`,
    ],
    [
      'web01 model=virtoi',
      `'virtoi' is not a valid model — did you mean 'virtio'? (choose from virtio, e1000, rtl8139) — usage: ${usage}`,
    ],
    [
      'web01 mac=52:54:00:zz:00:01',
      `'52:54:00:zz:00:01' is not a MAC address: use six hex pairs like 52:54:00:12:34:56 — usage: ${usage}`,
    ],
    ['web01 mac=01:00:5e:00:00:01', `'01:00:5e:00:00:01' is a multicast MAC address — usage: ${usage}`],
    [
      'web01 host=prod1',
      `unknown host 'prod1' — did you mean 'prod-1'? (hosts: test, prod-1) — usage: ${usage}`,
    ],
    ['web01 extra', `unexpected 'extra' — usage: ${usage}`],
    ['web01 network=a network=b', `'network' given twice — usage: ${usage}`],
    ['web01 --network', `'--network' needs a value: network=NETWORK — usage: ${usage}`],
    ['web;01', `'web;01' is not a valid VM name: letters, digits and . _ + - (up to 64) — usage: ${usage}`],
    ['"web 01"', `'web 01' is not a valid VM name: letters, digits and . _ + - (up to 64) — usage: ${usage}`],
    ['web01 live=maybe', `'maybe' is not yes or no — usage: ${usage}`],
  ])('%j is refused with a message quoting the bad token', (line, message) => {
    expect(() => parse(nicAdd, line)).toThrow(UsageError);
    expect(() => parse(nicAdd, line)).toThrow(message);
  });

  it('checks integer bounds and size syntax', () => {
    expect(() => parse(memSet, 'web01 2G count=9')).toThrow("'9' is too large: at most 8");
    expect(() => parse(memSet, 'web01 2G count=0')).toThrow("'0' is too small: at least 1");
    expect(() => parse(memSet, 'web01 2G count=two')).toThrow("'two' is not a whole number");
    expect(() => parse(memSet, 'web01 lots')).toThrow("'lots' is not a size");
    expect(() => parse(memSet, 'web01 100B')).toThrow('bytes are too small a unit');
  });

  it('masks control characters when quoting a bad token', () => {
    expect(() => parse(nicAdd, '"web\u0003\u202e01"')).toThrow("'web??01' is not a valid VM name");
  });

  it('shortens very long bad tokens', () => {
    const long = 'a'.repeat(10000);
    try {
      parse(nicAdd, `x${long}`);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(300);
    }
    expect(() => parse(nicAdd, `x${long}`)).toThrow(UsageError);
  });
});

describe('sizes', () => {
  it('parses and formats', () => {
    expect(parseSize('1T')).toBe(1024 ** 3);
    expect(formatKiB(2 * 1024 * 1024)).toBe('2G');
    expect(formatKiB(512 * 1024)).toBe('512M');
    expect(formatKiB(1536 * 1024)).toBe('1.5G');
    expect(formatKiB(100)).toBe('100K');
  });
});
