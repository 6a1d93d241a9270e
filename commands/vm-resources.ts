/** `vm cpu set`, `vm memory set`, `vm users|groups list|add|remove`. */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { domainState, scopeFor } from '../src/libvirt/changes.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { checkMemory, checkVcpus, hostResources } from '../src/libvirt/limits.js';
import { arg, defineVmCommand, type VmContext } from '../src/pipeline/define.js';
import { formatKiB, hostArg, plural, vmArg } from './vm-common.js';

/** Where a vCPU or memory change was applied, for the reply. */
function scopeNote(scope: { live: boolean; config: boolean }): string {
  if (scope.live && scope.config) return 'live and in config';
  return scope.live ? 'live only' : 'in config';
}

/**
 * The maximum a vCPU or memory change leaves: `max=` when given (only while the VM is off), else
 * the current maximum, raised to the new value when that is above it. A maximum goes down only
 * when asked (`max=`), so a VM keeps its room to hotplug up to it.
 */
function maximumFor(
  asked: number | undefined,
  value: number,
  current: number,
  running: boolean,
  unit: (n: number) => string,
): number {
  if (asked !== undefined) {
    if (asked < value) throw new CommandError(`max=${unit(asked)} is below ${unit(value)}`, 'invalid');
    if (running && asked !== current) {
      throw new CommandError(`the maximum changes only while the VM is off (it is ${unit(current)})`);
    }
    return asked;
  }
  return Math.max(value, current);
}

function maxNote(maximum: number, current: number, unit: (n: number) => string): string {
  if (maximum === current) return '';
  return `, maximum ${maximum > current ? 'raised' : 'lowered'} to ${unit(maximum)}`;
}

const cpuSet = defineVmCommand({
  path: ['vm', 'cpu', 'set'],
  summary:
    'set the number of vCPUs (live up to the maximum; the maximum rises with it while the VM is off, and max= sets it, lower too)',
  args: {
    vm: vmArg(),
    count: arg.int('number of vCPUs', { min: 1, max: 4096 }).positional().required(),
    max: arg.int('the maximum vCPUs (only while the VM is off; default: kept, or raised to COUNT)', {
      min: 1,
      max: 4096,
    }),
    host: hostArg(),
  },
  mutates: true,
  examples: [
    { input: 'vm cpu set test 1', reply: 'test now has 1 vCPU' },
    { input: 'vm cpu set test 4', reply: 'at most 2 vCPUs while test runs' },
    { input: 'vm cpu set test 1 max=1', reply: 'the maximum changes only while the VM is off' },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { count } = args;
    const state = await domainState(hv, vm);
    const view = await hv.domain(vm, { inactive: state.persistent });
    const scope = scopeFor(state);
    const vcpus = (n: number) => plural(n, 'vCPU');
    const maximum = maximumFor(args.max, count, view.maxVcpus, state.running, vcpus);
    // Checked before anything changes: the running VM's maximum, the machine type's and the
    // host's limits (for the maximum too: a VM whose maximum exceeds them does not start).
    const limits = await hv.vcpuLimits(view);
    const refusal =
      checkVcpus(view, limits, count, state.running) ??
      (maximum !== view.maxVcpus ? checkVcpus(view, limits, maximum, false) : undefined);
    if (refusal !== undefined) throw new CommandError(refusal);
    // Going up, the maximum first (the count may not exceed it); going down, the count first.
    if (maximum > view.maxVcpus) await hv.setMaxVcpus(vm, maximum);
    await hv.setVcpus(vm, count, scope);
    if (maximum < view.maxVcpus) await hv.setMaxVcpus(vm, maximum);
    const note = maxNote(maximum, view.maxVcpus, String);
    return {
      reply: `${vm} now has ${vcpus(count)} (was ${view.vcpus}${note}), ${scopeNote(scope)}`,
      detail: `Update guest '${vm}': vcpus ${view.vcpus} -> ${count}${note}`,
    };
  },
});

const memorySet = defineVmCommand({
  path: ['vm', 'memory', 'set'],
  summary:
    'set the memory (live up to the maximum; the maximum rises with it while the VM is off, and max= sets it, lower too)',
  args: {
    vm: vmArg(),
    size: arg
      .size('memory, e.g. 2G or 512M', { min: 64 * 1024 })
      .positional()
      .required(),
    max: arg.size('the maximum memory (only while the VM is off; default: kept, or raised to SIZE)', {
      min: 64 * 1024,
    }),
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
    const maximum = maximumFor(args.max, kib, view.memoryKiB, state.running, formatKiB);
    // Checked before anything changes: the running VM's maximum, the host's memory (for the
    // maximum too: a typo such as 1P is refused, not left for the next start to fail on).
    const host = await hostResources(hv).catch(() => undefined);
    const refusal =
      checkMemory(view, host, kib, state.running) ??
      (maximum !== view.memoryKiB ? checkMemory(view, host, maximum, false) : undefined);
    if (refusal !== undefined) throw new CommandError(refusal);
    if (maximum > view.memoryKiB) await hv.setMaxMemory(vm, maximum, { live: false, config: true });
    await hv.setMemory(vm, kib, scope);
    if (maximum < view.memoryKiB) await hv.setMaxMemory(vm, maximum, { live: false, config: true });
    let where = scopeNote(scope);
    if (scope.live) {
      // Live memory is a balloon request: the guest's driver carries it out (or not).
      const now = (await hv.domain(vm)).currentMemoryKiB;
      if (now !== kib) {
        where = `${scope.config ? 'in config; ' : ''}asked the running guest to balloon to it (it still has ${formatKiB(now)}; that needs its balloon driver)`;
      }
    }
    const note = maxNote(maximum, view.memoryKiB, formatKiB);
    return {
      reply: `${vm} now has ${formatKiB(kib)} memory (was ${formatKiB(view.currentMemoryKiB)}${note}), ${where}`,
      detail: `Update guest '${vm}': memory ${view.currentMemoryKiB} KiB -> ${kib} KiB${note}`,
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
  // One edit of the access list alone, safe against other virtbot processes and an admin's
  // virsh (read, change, write, read back, retry), in Kimchi's format on Kimchi's VMs.
  const change =
    kind === 'users'
      ? add
        ? { addUsers: names }
        : { removeUsers: names }
      : add
        ? { addGroups: names }
        : { removeGroups: names };
  const before = (await accessOf(hv, vm))[kind];
  if (!add && names.every((n) => !before.includes(n))) {
    throw new CommandError(`${vm} has no ${word} ${names.map((n) => `'${n}'`).join(', ')}`);
  }
  const changed = add ? names.filter((n) => !before.includes(n)) : names.filter((n) => before.includes(n));
  if (changed.length === 0) return { reply: `nothing to change: ${vm} already has ${names.join(', ')}` };
  const update = await hv.changeAccess(vm, change);
  const after = update.after[kind];
  const drift = update.after.drift;
  const verb = add ? 'granted' : 'revoked';
  return {
    reply: `${verb} ${changed.join(', ')} ${add ? 'access to' : 'access from'} ${vm}; ${kind} now: ${after.join(', ') || 'none'}`,
    detail: `${add ? 'Add' : 'Remove'} ${word}${changed.length === 1 ? '' : 's'} ${changed.map((n) => `'${n}'`).join(', ')} ${add ? 'to' : 'from'} guest '${vm}'`,
    ...(drift && drift.onlyVirtbot.length + drift.onlyKimchi.length > 0
      ? {
          lines: [
            `note: Kimchi's list and virtbot's old copy differ: only in virtbot's: ${drift.onlyVirtbot.join(', ') || '-'}; only in Kimchi's: ${drift.onlyKimchi.join(', ') || '-'}`,
          ],
        }
      : {}),
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
