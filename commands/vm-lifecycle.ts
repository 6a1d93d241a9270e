/**
 * More of a VM's life: `vm clone`, `vm autostart`, `vm reset`, `vm suspend`, `vm resume`,
 * `vm rename`, `vm describe`.
 *
 *  - reset is destructive (the guest gets no chance to shut down, like the reset button);
 *  - rename is destructive too: everything that knows the VM by its old name (people's runbooks,
 *    monitoring, `history vm=`) loses it — the new name must be free on every host, the VM off;
 *  - clone copies the source's disks in their pool and gives the copy new MACs; the NIC model
 *    and every other device are kept; the access list is reset unless access=keep (see
 *    src/libvirt/clone.ts). It can take long: past a few seconds it goes on as a task, which
 *    `task cancel N` stops after the disk being copied (removing what it made).
 */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { domainState, scopeFor } from '../src/libvirt/changes.js';
import { CloneError, cloneVm } from '../src/libvirt/clone.js';
import { scopeArgs } from '../src/libvirt/hypervisor.js';
import { checkName } from '../src/libvirt/virsh-quote.js';
import { arg, defineVmCommand, type VmContext } from '../src/pipeline/define.js';
import { hostArg, plural, vmArg } from './vm-common.js';

async function nameIsFree(ctx: VmContext, name: string): Promise<void> {
  const { found, unreachable } = await ctx.whereIs(name);
  if (found.length > 0) {
    throw new CommandError(
      `a VM named '${name}' already exists on ${found.join(' and ')}: names must be unique across hosts`,
    );
  }
  if (unreachable.length > 0) {
    throw new CommandError(
      `cannot tell whether '${name}' is free: ${unreachable.map((u) => `${u.host}: ${u.reason}`).join('; ')}`,
    );
  }
}

const domain = (vm: string) => ({ option: '--domain', value: checkName('vm', vm) }) as const;

const clone = defineVmCommand({
  path: ['vm', 'clone'],
  summary:
    'copy a shut-off VM: its disks copied in their pool, new MACs, same devices; access reset unless access=keep',
  args: {
    vm: vmArg(),
    name: arg.vm('the new VM’s name (unique across hosts)').positional().required(),
    access: arg.choice(
      ['reset', 'keep'] as const,
      'the access list: reset (default: nobody) or keep the source’s',
    ),
    host: hostArg(),
  },
  createsVm: 'name',
  mutates: true,
  examples: [
    { input: 'vm clone test test2', reply: 'test is running: shut it down before cloning it' },
    { input: 'vm clone test test', reply: "a VM named 'test' already exists on test" },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    await nameIsFree(ctx, args.name);
    const state = await hv.domainState(vm);
    if (state !== 'shut off') throw new CommandError(`${vm} is ${state}: shut it down before cloning it`);
    return ctx.tasks.run({
      title: `clone ${vm} to ${args.name}`,
      cancel: { how: 'steps' },
      check: { kind: 'vm-exists', host: hv.name, vm: args.name },
      async work({ signal, progress }) {
        let made: Awaited<ReturnType<typeof cloneVm>>;
        try {
          made = await hv.withDomainLock(args.name, () =>
            cloneVm(hv, vm, args.name, { keepAccess: args.access === 'keep', signal, progress }),
          );
        } catch (error) {
          if (error instanceof CloneError) throw new CommandError(`cannot clone ${vm}: ${error.message}`);
          throw error;
        }
        const disks = made.disks.map((d) => `${d.target} → ${d.to}`);
        return {
          reply:
            `cloned ${vm} to ${args.name} on ${hv.name}: ${plural(made.disks.length, 'disk')} copied` +
            (disks.length > 0 ? ` (${disks.join(', ')})` : '') +
            (made.shared.length > 0 ? `, shared ${made.shared.join(', ')}` : '') +
            `, ${plural(made.macs.length, 'new MAC')}` +
            `, access ${made.accessReset ? 'reset' : 'kept'}; it is off: 'vm start ${args.name}'`,
          lines: made.macs.map((m) => `NIC ${m.from} → ${m.to}`),
          detail: `Clone guest '${vm}' to '${args.name}' (${plural(made.disks.length, 'disk')}, access ${made.accessReset ? 'reset' : 'kept'})`,
        };
      },
    });
  },
});

const autostart = defineVmCommand({
  path: ['vm', 'autostart'],
  summary: 'start a VM with its host (on), or not (off)',
  args: { vm: vmArg(), enabled: arg.bool('on or off').positional().required(), host: hostArg() },
  mutates: true,
  examples: [
    { input: 'vm autostart test on', reply: 'test now starts with host test' },
    { input: 'vm autostart test off', reply: 'test no longer starts with host test' },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    await hv.virsh('autostart', [domain(vm), ...(args.enabled ? [] : [{ option: '--disable' }])]);
    return {
      reply: args.enabled
        ? `${vm} now starts with host ${hv.name}`
        : `${vm} no longer starts with host ${hv.name}`,
      detail: `${args.enabled ? 'Enable' : 'Disable'} autostart of guest '${vm}'`,
    };
  },
});

const reset = defineVmCommand({
  path: ['vm', 'reset'],
  slashGroup: 'power',
  summary: 'reset a running VM at once, like its reset button (the guest does not shut down)',
  args: { vm: vmArg(), host: hostArg() },
  destructive: true,
  examples: [{ input: 'vm reset test', reply: 'is destructive' }],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    if (!(await hv.isRunning(vm))) throw new CommandError(`${vm} is not running`);
    await hv.virsh('reset', [domain(vm)]);
    return {
      reply: `reset ${vm} (like its reset button: the guest did not shut down)`,
      detail: `Reset guest '${vm}'`,
    };
  },
});

const suspend = defineVmCommand({
  path: ['vm', 'suspend'],
  slashGroup: 'power',
  summary: 'pause a running VM (its vCPUs stop; its memory is kept)',
  args: { vm: vmArg(), host: hostArg() },
  mutates: true,
  examples: [
    {
      input: 'vm suspend test',
      reply: 'suspended test (paused: its vCPUs stopped, memory kept;',
    },
  ],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    const state = await hv.domainState(vm);
    if (state !== 'running') throw new CommandError(`${vm} is ${state}, not running`);
    await hv.virsh('suspend', [domain(vm)]);
    return {
      reply: `suspended ${vm} (paused: its vCPUs stopped, memory kept; '${ctx.replyPrefix}vm resume ${vm}')`,
      detail: `Suspend guest '${vm}'`,
    };
  },
});

const resume = defineVmCommand({
  path: ['vm', 'resume'],
  slashGroup: 'power',
  summary: 'let a paused VM run again',
  args: { vm: vmArg(), host: hostArg() },
  mutates: true,
  examples: [{ input: 'vm resume test', reply: 'test is running, not paused' }],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    const state = await hv.domainState(vm);
    if (state !== 'paused') throw new CommandError(`${vm} is ${state}, not paused`);
    await hv.virsh('resume', [domain(vm)]);
    return { reply: `resumed ${vm}`, detail: `Resume guest '${vm}'` };
  },
});

const rename = defineVmCommand({
  path: ['vm', 'rename'],
  summary: 'rename a shut-off VM (the new name must be free on every host)',
  args: {
    vm: vmArg(),
    name: arg.vm('the new name').positional().required(),
    host: hostArg(),
  },
  destructive: true,
  createsVm: 'name',
  examples: [{ input: 'vm rename test web01', reply: 'is destructive' }],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    await nameIsFree(ctx, args.name);
    const state = await hv.domainState(vm);
    if (state !== 'shut off') throw new CommandError(`${vm} is ${state}: shut it down before renaming it`);
    await hv.withDomainLock(args.name, () =>
      hv.virsh('domrename', [domain(vm), { option: '--new-name', value: checkName('vm', args.name) }]),
    );
    return {
      reply: `renamed ${vm} to ${args.name} on ${hv.name} (its access list goes with it; earlier records name it ${vm})`,
      detail: `Rename guest '${vm}' to '${args.name}'`,
    };
  },
});

const describe = defineVmCommand({
  path: ['vm', 'describe'],
  summary: 'set a VM’s description (and title=, a short one-line name)',
  args: {
    vm: vmArg(),
    text: arg.text('the description (the rest of the line)').positional().required(),
    title: arg.text('a short title'),
    host: hostArg(),
  },
  mutates: true,
  examples: [
    {
      input: 'vm describe test "web front end, ask royce"',
      reply: 'description of test set, live and in config',
    },
    { input: 'vm describe test frontend title=web01', reply: "title of test set to 'web01'" },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const scope = scopeFor(await domainState(hv, vm));
    const set = (text: string, title: boolean) =>
      hv.virsh('desc', [
        domain(vm),
        ...(title ? [{ option: '--title' }] : []),
        ...scopeArgs(scope),
        { option: '--new-desc', value: text },
      ]);
    await set(args.text, false);
    if (args.title !== undefined) await set(args.title, true);
    const where =
      scope.live && scope.config
        ? 'live and in config'
        : scope.live
          ? 'live only (transient VM)'
          : 'in config';
    return {
      reply: `description of ${vm} set, ${where}${args.title !== undefined ? `; title of ${vm} set to '${args.title}'` : ''}`,
      detail: `Describe guest '${vm}'${args.title !== undefined ? ` (title '${args.title}')` : ''}`,
    };
  },
});

export const moreLifecycleCommands: CommandSpec[] = [
  clone,
  autostart,
  reset,
  suspend,
  resume,
  rename,
  describe,
];
