/**
 * Commands as declared with the definers, resolved by their path words, and their arguments
 * bound (src/command/bind.ts): typed lines (bindTokens) and structured commands (bindOptions)
 * go through the same validators and the same declared constraints; canonicalLine gives back a
 * line that binds to the same arguments.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bindOptions, bindTokens, canonicalLine, UsageError } from '../../src/command/bind.js';
import { describeConstraint } from '../../src/command/constraints.js';
import { CommandRegistry, ResolveError } from '../../src/command/registry.js';
import type { CommandGroup, CommandSpec } from '../../src/command/spec.js';
import { usageLine } from '../../src/command/usage.js';
import { tokenize } from '../../src/grammar/tokenize.js';
import { formatKiB, parseSize } from '../../src/grammar/types.js';
import {
  arg,
  atLeastOne,
  defineCommand,
  defineFleetCommand,
  defineNewVmCommand,
  defineVmCommand,
  exactlyOne,
  notBoth,
  requires,
} from '../../src/pipeline/define.js';

const run = async () => ({ reply: 'done' });
const vmArg = () => arg.vm('the VM').positional().required();

const nicAdd = defineVmCommand({
  path: ['vm', 'nic', 'add'],
  summary: 'add a NIC',
  args: {
    vm: vmArg(),
    network: arg.network('network'),
    bridge: arg.bridge('bridge'),
    model: arg.choice(['virtio', 'e1000', 'rtl8139'], 'model'),
    mac: arg.mac('MAC'),
    host: arg.host('host'),
    live: arg.bool('live'),
  },
  constraints: [notBoth('network', 'bridge')],
  examples: [],
  run,
});
const usersAdd = defineVmCommand({
  path: ['vm', 'users', 'add'],
  summary: 'grant users',
  args: { vm: vmArg(), names: arg.names('user names').positional().required() },
  examples: [],
  run,
});
const memSet = defineVmCommand({
  path: ['vm', 'memory', 'set'],
  summary: 'memory',
  args: {
    vm: vmArg(),
    size: arg.size('size').positional().required(),
    count: arg.int('count', { min: 1, max: 8 }),
  },
  examples: [],
  run,
});
const diskAdd = defineVmCommand({
  path: ['vm', 'disk', 'add'],
  summary: 'add a disk',
  args: {
    vm: vmArg(),
    size: arg.size('size'),
    path: arg.path('path'),
    pool: arg.pool('pool'),
    format: arg.choice(['raw', 'qcow2'], 'format'),
  },
  constraints: [exactlyOne('size', 'path'), requires('format', 'size')],
  examples: [],
  run,
});
const create = defineNewVmCommand({
  path: ['vm', 'create'],
  summary: 'create',
  args: { vm: vmArg(), template: arg.name('template'), memory: arg.size('memory') },
  constraints: [atLeastOne('template', 'memory')],
  destructive: false,
  examples: [],
  run,
});
const note = defineCommand({
  path: ['vm', 'note'],
  summary: 'a note',
  args: { vm: vmArg(), text: arg.text('text').positional().required() },
  examples: [],
  run,
});
const nicList = defineVmCommand({
  path: ['vm', 'nic', 'list'],
  summary: 'l',
  args: { vm: vmArg() },
  examples: [],
  run,
});
const vmList = defineFleetCommand({
  path: ['vm', 'list'],
  summary: 'l',
  args: { host: arg.host('host') },
  examples: [],
  run,
});
const vm: CommandGroup = {
  name: 'vm',
  summary: 'VMs',
  aliases: { iface: 'nic' },
  commands: [nicAdd, usersAdd, memSet, diskAdd, create, note, nicList, vmList],
};
const ctx = { hostNames: ['test', 'prod-1'], now: () => new Date('2026-11-25T12:00:00Z') };
const bind = (spec: CommandSpec, line: string) => bindTokens(spec, tokenize(line), ctx);
const options = (spec: CommandSpec, values: Record<string, string | number | boolean>) =>
  bindOptions(spec, values, ctx);

describe('declaring commands', () => {
  it('derives the target, permission and mutation from the declaration', () => {
    expect(nicAdd).toMatchObject({
      target: { kind: 'vm', vm: 'vm', host: 'host' },
      permission: 'vm.nic.add',
      open: false,
      destructive: false,
      mutates: false,
    });
    expect(vmList.target).toEqual({ kind: 'hosts', host: 'host' });
    expect(note.target).toEqual({ kind: 'none' });
    expect(create.target).toEqual({ kind: 'new-vm', vm: 'vm' });
    const remove = defineVmCommand({
      path: ['vm', 'nic', 'remove'],
      summary: 'r',
      args: { vm: vmArg() },
      destructive: true,
      permission: 'vm.nic.remove',
      examples: [],
      run,
    });
    expect(remove).toMatchObject({ destructive: true, mutates: true });
  });

  it('refuses a VM command without a VM argument', () => {
    expect(() =>
      defineVmCommand({
        path: ['vm', 'oops'],
        summary: 'x',
        args: { name: arg.name('n') },
        examples: [],
        run,
      }),
    ).toThrow("command 'vm oops' acts on a VM but declares no VM argument");
  });
});

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

  it('does not take a quoted word, a key=value or a flag as a path word', () => {
    expect(() => resolve('vm "list"')).toThrow(ResolveError);
    expect(() => resolve('vm list=1')).toThrow(ResolveError);
    expect(() => resolve('--vm list')).toThrow(ResolveError);
  });

  it('refuses to register a group or a command twice', () => {
    expect(() => new CommandRegistry([vm, vm])).toThrow('registered twice');
    expect(() => new CommandRegistry([{ ...vm, commands: [nicAdd, nicAdd] }])).toThrow('declared twice');
  });
});

describe('binding typed arguments', () => {
  it('binds positionals and named arguments with their types', () => {
    expect(bind(nicAdd, 'web01 network=default model=E1000 mac=52:54:00:AA:bb:01 --live')).toEqual({
      vm: 'web01',
      network: 'default',
      model: 'e1000',
      mac: '52:54:00:aa:bb:01',
      live: true,
    });
  });

  it('accepts a positional by name, but not twice', () => {
    expect(bind(nicAdd, 'vm=web01')).toEqual({ vm: 'web01' });
    expect(() => bind(nicAdd, 'web01 vm=web02')).toThrow(`'vm' given twice — usage: ${usageLine(nicAdd)}`);
    expect(() => bind(nicAdd, 'vm=web02 vm=web01')).toThrow("'vm' given twice");
  });

  it('takes the rest of the line into a names list, commas or spaces, without repeats', () => {
    expect(bind(usersAdd, 'web01 alice bob,carol alice')).toEqual({
      vm: 'web01',
      names: ['alice', 'bob', 'carol'],
    });
    expect(() => bind(usersAdd, 'web01')).toThrow('missing NAMES');
  });

  it('takes the rest of the line as free text, as typed', () => {
    expect(bind(note, 'web01 hello   "big world" $(x)')).toEqual({
      vm: 'web01',
      text: 'hello big world $(x)',
    });
  });

  it('converts sizes to KiB', () => {
    expect(bind(memSet, 'web01 2G')).toMatchObject({ size: 2 * 1024 * 1024 });
    expect(bind(memSet, 'web01 512M')).toMatchObject({ size: 512 * 1024 });
    expect(bind(memSet, 'web01 1024')).toMatchObject({ size: 1024 });
    expect(bind(memSet, 'web01 1.5GiB')).toMatchObject({ size: 1536 * 1024 });
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
    ['web01 network=default bridge=br0', `give network= or bridge=, not both — usage: ${usage}`],
  ])('%j is refused with a message quoting the bad token', (line, message) => {
    expect(() => bind(nicAdd, line)).toThrow(UsageError);
    expect(() => bind(nicAdd, line)).toThrow(message);
  });

  it('checks integer bounds and size syntax', () => {
    expect(() => bind(memSet, 'web01 2G count=9')).toThrow("'9' is too large: at most 8");
    expect(() => bind(memSet, 'web01 2G count=0')).toThrow("'0' is too small: at least 1");
    expect(() => bind(memSet, 'web01 2G count=two')).toThrow("'two' is not a whole number");
    expect(() => bind(memSet, 'web01 lots')).toThrow("'lots' is not a size");
    expect(() => bind(memSet, 'web01 100B')).toThrow('bytes are too small a unit');
  });

  it('masks control characters when quoting a bad token', () => {
    expect(() => bind(nicAdd, '"web\u0003\u202e01"')).toThrow("'web??01' is not a valid VM name");
  });

  it('shortens very long bad tokens', () => {
    const long = 'a'.repeat(10000);
    expect(() => bind(nicAdd, `x${long}`)).toThrow(UsageError);
    try {
      bind(nicAdd, `x${long}`);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(300);
    }
  });
});

describe('constraints between arguments', () => {
  it('are checked after each value is valid, in words the help shows too', () => {
    const usage = usageLine(diskAdd);
    expect(() => bind(diskAdd, 'web01')).toThrow(`give exactly one of size=, path= — usage: ${usage}`);
    expect(() => bind(diskAdd, 'web01 size=1G path=/var/lib/a.img')).toThrow(
      'give exactly one of size=, path=',
    );
    expect(() => bind(diskAdd, 'web01 path=/var/lib/a.img format=qcow2')).toThrow('format= needs size=');
    expect(bind(diskAdd, 'web01 size=1G format=qcow2')).toEqual({
      vm: 'web01',
      size: 1024 ** 2,
      format: 'qcow2',
    });
    expect(() => bind(create, 'x')).toThrow('give at least one of template=, memory=');
    expect(bind(create, 'x template=debian12')).toEqual({ vm: 'x', template: 'debian12' });
    // A bad value is reported as such, before any constraint.
    expect(() => bind(diskAdd, 'web01 size=lots path=/a')).toThrow("'lots' is not a size");
  });

  it('describe themselves', () => {
    expect(describeConstraint(notBoth('network', 'bridge'))).toBe('give network= or bridge=, not both');
    expect(describeConstraint(exactlyOne('size', 'path'))).toBe('give exactly one of size=, path=');
    expect(describeConstraint(atLeastOne('a', 'b'))).toBe('give at least one of a=, b=');
    expect(describeConstraint(requires('format', 'size'))).toBe('format= needs size=');
  });
});

describe('binding structured commands', () => {
  it('binds values by name through the same validators', () => {
    expect(options(nicAdd, { vm: 'web01', network: 'default', model: 'E1000', live: true })).toEqual({
      vm: 'web01',
      network: 'default',
      model: 'e1000',
      live: true,
    });
    expect(options(memSet, { vm: 'web01', size: '2G', count: 3 })).toEqual({
      vm: 'web01',
      size: 2 * 1024 ** 2,
      count: 3,
    });
    expect(options(usersAdd, { vm: 'web01', names: 'alice, bob alice' })).toEqual({
      vm: 'web01',
      names: ['alice', 'bob'],
    });
    // An option left empty is not given.
    expect(options(nicAdd, { vm: 'web01', network: '' })).toEqual({ vm: 'web01' });
  });

  it('refuses what a typed line would refuse', () => {
    expect(() => options(nicAdd, { vm: 'web;01' })).toThrow("'web;01' is not a valid VM name");
    expect(() => options(nicAdd, { vm: 'web01', netwrk: 'x' })).toThrow(
      "unknown option 'netwrk' for vm nic add",
    );
    expect(() => options(nicAdd, { network: 'default' })).toThrow('missing VM');
    expect(() => options(nicAdd, { vm: 'web01', network: 'default', bridge: 'br0' })).toThrow(
      'give network= or bridge=, not both',
    );
    expect(() => options(memSet, { vm: 'web01', size: '2G', count: 9 })).toThrow(
      "'9' is too large: at most 8",
    );
    expect(() => options(nicAdd, { vm: 'web01', host: 'nope' })).toThrow("unknown host 'nope'");
    // A prototype key is an unknown option, not a property.
    expect(() => options(nicAdd, JSON.parse('{"vm":"web01","__proto__":"x"}'))).toThrow(
      "unknown option '__proto__'",
    );
  });
});

describe('canonical lines', () => {
  it('states bound arguments in declaration order, quoted where needed, sizes exactly', () => {
    expect(canonicalLine(nicAdd, bind(nicAdd, 'network=default web01 --live'))).toBe(
      'vm nic add web01 network=default live=yes',
    );
    expect(canonicalLine(memSet, bind(memSet, 'web01 1536M'))).toBe('vm memory set web01 1536M');
    expect(canonicalLine(memSet, bind(memSet, 'web01 1.5G'))).toBe('vm memory set web01 1536M');
    expect(canonicalLine(memSet, bind(memSet, 'web01 2048M'))).toBe('vm memory set web01 2G');
    expect(canonicalLine(usersAdd, bind(usersAdd, 'web01 alice,bob'))).toBe('vm users add web01 alice bob');
    expect(canonicalLine(note, bind(note, 'web01 "say \\"hi\\" = it\'s"'))).toBe(
      'vm note web01 "say \\"hi\\" = it\'s"',
    );
  });

  it('bind back to the same arguments, whatever text and paths hold', () => {
    let checked = 0;
    const text = fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => s.trim() !== '' && !/[\u0000-\u001f]/.test(s));
    fc.assert(
      fc.property(text, fc.constantFrom('web01', 'a.b-c_d+e'), (words, name) => {
        let args: ReturnType<typeof bind>;
        try {
          args = bind(note, `${name} ${JSON.stringify(words)}`);
        } catch {
          return; // not a line the binder takes (the property is about the lines it does)
        }
        const line = canonicalLine(note, args);
        expect(bind(note, line.slice('vm note '.length))).toEqual(args);
        checked++;
      }),
      { numRuns: 500, seed: 3 },
    );
    const path = fc
      .array(fc.constantFrom('a', 'b', ' ', '"', "'", '=', '\\', '$', '-', '.'), {
        minLength: 1,
        maxLength: 12,
      })
      .map((chars) => `/var/lib/${chars.join('')}`);
    fc.assert(
      fc.property(path, (p) => {
        let args: ReturnType<typeof bind>;
        try {
          args = bind(diskAdd, `web01 path=${JSON.stringify(p)}`);
        } catch {
          return;
        }
        expect(bind(diskAdd, canonicalLine(diskAdd, args).slice('vm disk add '.length))).toEqual(args);
        checked++;
      }),
      { numRuns: 500, seed: 4 },
    );
    // Most generated lines bind: the property is not vacuous.
    expect(checked).toBeGreaterThan(800);
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
