/**
 * `vm snapshot list|create|revert|delete`: a VM's snapshots (internal in qcow2 disks; external,
 * disk-only, where a disk is raw). Creating, reverting and deleting can take long on a big VM:
 * past a few seconds they go on as a task. Revert and delete are destructive (a revert throws
 * away what the VM did since; a delete cannot be undone): they ask for confirmation, and a rule
 * can put them under approval.
 */
import { CommandError, type CommandResult, type CommandSpec } from '../src/command/spec.js';
import {
  createSnapshot,
  deleteSnapshot,
  listSnapshots,
  revertSnapshot,
  type SnapshotInfo,
  snapshotExists,
} from '../src/libvirt/snapshots.js';
import { arg, defineVmCommand, type VmContext } from '../src/pipeline/define.js';
import { hostArg, plural, vmArg } from './vm-common.js';

const nameArg = () => arg.name('the snapshot’s name').positional().required();

function brief(s: SnapshotInfo): string {
  const flags = [s.created.slice(0, 16), s.state, s.location === 'external' ? 'external' : ''];
  if (s.current) flags.push('current');
  return `${s.name} (${flags.filter((f) => f !== '').join(', ')})`;
}

async function mustExist(ctx: VmContext, name: string): Promise<SnapshotInfo> {
  const found = (await listSnapshots(ctx.hv, ctx.vm)).find((s) => s.name === name);
  if (!found)
    throw new CommandError(`${ctx.vm} has no snapshot '${name}' (see 'vm snapshot list ${ctx.vm}')`);
  return found;
}

const list = defineVmCommand({
  path: ['vm', 'snapshot', 'list'],
  summary: 'list a VM’s snapshots: name, when, the VM’s state then, internal or external, current',
  args: { vm: vmArg(), host: hostArg() },
  examples: [{ input: 'vm snapshot list test', reply: 'test has no snapshots' }],
  async run({ ctx }) {
    const snapshots = await listSnapshots(ctx.hv, ctx.vm);
    const reply =
      snapshots.length === 0
        ? `${ctx.vm} has no snapshots`
        : `${ctx.vm} has ${plural(snapshots.length, 'snapshot')}: ${snapshots.map(brief).join(', ')}`;
    const lines = snapshots.map(
      (s) =>
        `${s.name}: taken ${s.created}, VM ${s.state}, ${s.location}${s.parent ? `, parent ${s.parent}` : ''}${s.current ? ', current' : ''}`,
    );
    return { reply, lines, detail: `List snapshots of guest '${ctx.vm}'` };
  },
});

function defaultName(now: Date): string {
  return `snap-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-')}`;
}

const create = defineVmCommand({
  path: ['vm', 'snapshot', 'create'],
  summary:
    'take a snapshot of a VM (internal: disks, and memory while it runs; external disk-only where a disk is not qcow2)',
  args: {
    vm: vmArg(),
    name: arg.name('the snapshot’s name (default: snap-DATE-TIME)').positional(),
    description: arg.text('what it is for'),
    host: hostArg(),
  },
  mutates: true,
  examples: [
    {
      input: 'vm snapshot create test before-upgrade',
      reply: 'took snapshot before-upgrade of test (internal',
    },
    { input: 'vm snapshot create test', reply: /took snapshot snap-\d{8}-\d{6} of test/ },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const name = args.name ?? defaultName(ctx.now());
    if (await snapshotExists(hv, vm, name)) throw new CommandError(`${vm} already has a snapshot '${name}'`);
    // Saving a running VM's memory is a domain job, which libvirt can abort (where the driver can).
    const running = await hv.isRunning(vm);
    return ctx.tasks.run({
      title: `snapshot ${name} of ${vm}`,
      ...(running
        ? {
            cancel: {
              how: 'job' as const,
              abort: async () => {
                await hv.virsh('domjobabort', [{ option: '--domain', value: vm }]);
              },
            },
          }
        : {}),
      check: { kind: 'snapshot', host: hv.name, vm, snapshot: name },
      async work(): Promise<CommandResult> {
        const made = await createSnapshot(hv, vm, name, args.description);
        const what =
          made.location === 'internal'
            ? 'internal: its disks, and its memory when it runs'
            : `external, disk-only: ${made.why}`;
        return {
          reply: `took snapshot ${name} of ${vm} (${what})`,
          detail: `Create snapshot '${name}' (${made.location}) of guest '${vm}'`,
        };
      },
    });
  },
});

const revert = defineVmCommand({
  path: ['vm', 'snapshot', 'revert'],
  summary: 'put a VM back as it was at a snapshot (what it did since is lost)',
  args: { vm: vmArg(), name: nameArg(), host: hostArg() },
  destructive: true,
  examples: [{ input: 'vm snapshot revert test before-upgrade', reply: 'is destructive' }],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const snapshot = await mustExist(ctx, args.name);
    return ctx.tasks.run({
      title: `revert ${vm} to snapshot ${snapshot.name}`,
      check: { kind: 'vm-state', host: hv.name, vm },
      async work() {
        await revertSnapshot(hv, vm, snapshot.name);
        return {
          reply: `reverted ${vm} to snapshot ${snapshot.name} (taken ${snapshot.created.slice(0, 16)}, when it was ${snapshot.state})`,
          detail: `Revert guest '${vm}' to snapshot '${snapshot.name}'`,
        };
      },
    });
  },
});

const del = defineVmCommand({
  path: ['vm', 'snapshot', 'delete'],
  summary: 'delete a snapshot of a VM (the VM itself stays as it is)',
  args: { vm: vmArg(), name: nameArg(), host: hostArg() },
  destructive: true,
  examples: [{ input: 'vm snapshot delete test before-upgrade', reply: 'is destructive' }],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const snapshot = await mustExist(ctx, args.name);
    return ctx.tasks.run({
      title: `delete snapshot ${snapshot.name} of ${vm}`,
      check: { kind: 'snapshot', host: hv.name, vm, snapshot: snapshot.name },
      async work() {
        await deleteSnapshot(hv, vm, snapshot.name);
        return {
          reply: `deleted snapshot ${snapshot.name} of ${vm}`,
          detail: `Delete snapshot '${snapshot.name}' of guest '${vm}'`,
        };
      },
    });
  },
});

export const snapshotCommands: CommandSpec[] = [list, create, revert, del];
