/** `vm cpu set`, `vm memory set`, `vm users|groups list|add|remove`. */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { domainState, scopeFor } from '../src/libvirt/changes.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { withAccess } from '../src/libvirt/metadata.js';
import { arg, defineVmCommand, type VmContext } from '../src/pipeline/define.js';
import { formatKiB, hostArg, plural, vmArg } from './vm-common.js';

/** Where a vCPU or memory change was applied, for the reply. */
function scopeNote(scope: { live: boolean; config: boolean }): string {
  if (scope.live && scope.config) return 'live and in config';
  return scope.live ? 'live only' : 'in config';
}

const cpuSet = defineVmCommand({
  path: ['vm', 'cpu', 'set'],
  summary: 'set the number of vCPUs (live up to the maximum; raising the maximum needs the VM off)',
  args: {
    vm: vmArg(),
    count: arg.int('number of vCPUs', { min: 1, max: 4096 }).positional().required(),
    host: hostArg(),
  },
  mutates: true,
  examples: [
    { input: 'vm cpu set test 1', reply: 'test now has 1 vCPU' },
    { input: 'vm cpu set test 4', reply: 'at most 2 vCPUs while test runs' },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { count } = args;
    const state = await domainState(hv, vm);
    const view = await hv.domain(vm, { inactive: state.persistent });
    const scope = scopeFor(state);
    if (count > view.maxVcpus) {
      if (state.running) {
        throw new CommandError(
          `at most ${plural(view.maxVcpus, 'vCPU')} while ${vm} runs (its maximum); shut it down to raise the maximum`,
        );
      }
      await hv.setVcpus(vm, count, { live: false, config: true, maximum: true });
    }
    await hv.setVcpus(vm, count, scope);
    return {
      reply: `${vm} now has ${plural(count, 'vCPU')} (was ${view.vcpus}${count > view.maxVcpus ? `, maximum raised to ${count}` : ''}), ${scopeNote(scope)}`,
      detail: `Update guest '${vm}': vcpus ${view.vcpus} -> ${count}`,
    };
  },
});

const memorySet = defineVmCommand({
  path: ['vm', 'memory', 'set'],
  summary: 'set the memory (live up to the maximum; raising the maximum needs the VM off)',
  args: {
    vm: vmArg(),
    size: arg
      .size('memory, e.g. 2G or 512M', { min: 64 * 1024 })
      .positional()
      .required(),
    host: hostArg(),
  },
  mutates: true,
  examples: [
    { input: 'vm memory set test 1G', reply: 'test now has 1G memory' },
    { input: 'vm memory set test 16G', reply: 'at most 8G while test runs' },
    { input: 'vm memory set test 32M', reply: "'32M' is too small: at least 64M" },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const kib = args.size;
    const state = await domainState(hv, vm);
    const view = await hv.domain(vm, { inactive: state.persistent });
    const scope = scopeFor(state);
    const raise = kib > view.memoryKiB;
    if (raise) {
      if (state.running) {
        throw new CommandError(
          `at most ${formatKiB(view.memoryKiB)} while ${vm} runs (its maximum); shut it down to raise the maximum`,
        );
      }
      await hv.setMaxMemory(vm, kib, { live: false, config: true });
    }
    await hv.setMemory(vm, kib, scope);
    let where = scopeNote(scope);
    if (scope.live) {
      // Live memory is a balloon request: the guest's driver carries it out (or not).
      const now = (await hv.domain(vm)).currentMemoryKiB;
      if (now !== kib) {
        where = `${scope.config ? 'in config; ' : ''}asked the running guest to balloon to it (it still has ${formatKiB(now)}; that needs its balloon driver)`;
      }
    }
    return {
      reply: `${vm} now has ${formatKiB(kib)} memory (was ${formatKiB(view.currentMemoryKiB)}${raise ? `, maximum raised to ${formatKiB(kib)}` : ''}), ${where}`,
      detail: `Update guest '${vm}': memory ${view.currentMemoryKiB} KiB -> ${kib} KiB`,
    };
  },
});

// ------------------------------------------------------------------ users and groups

type Kind = 'users' | 'groups';

async function accessOf(
  hv: Hypervisor,
  vm: string,
): Promise<{ users: string[]; groups: string[]; from: string }> {
  const meta = (await hv.domain(vm, { inactive: (await domainState(hv, vm)).persistent })).metadata;
  return { users: meta.users, groups: meta.groups, from: meta.accessSource };
}

function accessList(kind: Kind): CommandSpec {
  const word = kind === 'users' ? 'user' : 'group';
  return defineVmCommand({
    path: ['vm', kind, 'list'],
    summary: `list the ${kind} given access to a VM`,
    args: { vm: vmArg(), host: hostArg() },
    examples: [{ input: `vm ${kind} list test`, reply: `test has no ${kind}` }],
    async run({ ctx }) {
      const { hv, vm } = ctx;
      const access = await accessOf(hv, vm);
      const names = access[kind];
      const from = access.from === 'kimchi' ? ' (from Kimchi metadata)' : '';
      return {
        reply:
          names.length === 0
            ? `${vm} has no ${kind}`
            : `${vm} ${plural(names.length, word)}: ${names.join(', ')}${from}`,
        detail: `List ${kind} of guest '${vm}'`,
      };
    },
  });
}

async function change(ctx: VmContext, names: string[], kind: Kind, add: boolean) {
  const { hv, vm } = ctx;
  const word = kind === 'users' ? 'user' : 'group';
  if (add) {
    const known = new Set(kind === 'users' ? await hv.users() : await hv.groups());
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new CommandError(
        `no ${word} ${unknown.map((n) => `'${n}'`).join(', ')} on host ${hv.name} (see 'host ${kind} list host=${hv.name}')`,
      );
    }
  }
  const state = await domainState(hv, vm);
  const current = await accessOf(hv, vm);
  const before = current[kind];
  let after: string[];
  let changed: string[];
  if (add) {
    changed = names.filter((n) => !before.includes(n));
    after = [...before, ...changed];
  } else {
    const missing = names.filter((n) => !before.includes(n));
    if (missing.length === names.length) {
      throw new CommandError(`${vm} has no ${word} ${missing.map((n) => `'${n}'`).join(', ')}`);
    }
    changed = names.filter((n) => before.includes(n));
    after = before.filter((n) => !names.includes(n));
  }
  if (changed.length === 0) return { reply: `nothing to change: ${vm} already has ${names.join(', ')}` };
  const users = kind === 'users' ? after : current.users;
  const groups = kind === 'groups' ? after : current.groups;
  // Only <access> inside virtbot's element is rebuilt; libvirt's metadata API leaves the rest of the domain alone.
  const element = withAccess(await hv.virtbotMetadata(vm), users, groups);
  await hv.setVirtbotMetadata(vm, element, scopeFor(state));
  const verb = add ? 'granted' : 'revoked';
  return {
    reply: `${verb} ${changed.join(', ')} ${add ? 'access to' : 'access from'} ${vm}; ${kind} now: ${after.join(', ') || 'none'}`,
    detail: `${add ? 'Add' : 'Remove'} ${word}${changed.length === 1 ? '' : 's'} ${changed.map((n) => `'${n}'`).join(', ')} ${add ? 'to' : 'from'} guest '${vm}'`,
  };
}

function accessChange(kind: Kind, add: boolean): CommandSpec {
  const word = kind === 'users' ? 'user' : 'group';
  return defineVmCommand({
    path: ['vm', kind, add ? 'add' : 'remove'],
    summary: add
      ? `give ${kind} of the host access to a VM (they must exist on its host)`
      : `take ${kind} off a VM’s access list`,
    args: {
      vm: vmArg(),
      names: arg.names(`${word} names on the VM’s host`).positional().required(),
      host: hostArg(),
    },
    mutates: true,
    destructive: !add,
    examples: add
      ? [{ input: `vm ${kind} add test no-such-${word}`, reply: `no ${word} 'no-such-${word}' on host test` }]
      : [{ input: `vm ${kind} remove test alice`, reply: 'is destructive' }],
    run: ({ args, ctx }) => change(ctx, args.names, kind, add),
  });
}

export const resourceCommands: CommandSpec[] = [
  cpuSet,
  memorySet,
  accessList('users'),
  accessChange('users', true),
  accessChange('users', false),
  accessList('groups'),
  accessChange('groups', true),
  accessChange('groups', false),
];
