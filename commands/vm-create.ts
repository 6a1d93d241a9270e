/** `vm start|shutdown|reboot|stop|create|delete`: a VM's life cycle. */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { domainState } from '../src/libvirt/changes.js';
import { randomMac } from '../src/libvirt/domain.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { volumeUsers } from '../src/libvirt/limits.js';
import { buildDomain, domainTypeFor, templateSizes } from '../src/libvirt/template.js';
import { path } from '../src/libvirt/xml.js';
import { arg, defineNewVmCommand, defineVmCommand, type VmContext } from '../src/pipeline/define.js';
import { doneOrCheckedNote } from './vm-changes.js';
import { formatKiB, hostArg, plural, vmArg } from './vm-common.js';

/** The pool to use: the named one (must exist), else 'default', else the host's first active pool. */
export async function resolvePool(hv: Hypervisor, named: string | undefined): Promise<string> {
  if (named !== undefined) {
    if (!(await hv.poolExists(named)))
      throw new CommandError(`no storage pool '${named}' on host ${hv.name}`);
    return named;
  }
  if (await hv.poolExists('default')) return 'default';
  const { stdout } = await hv.virsh('pool-list', [{ option: '--name' }]);
  const first = stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (!first) throw new CommandError(`host ${hv.name} has no active storage pool`);
  return first;
}

type Power = 'start' | 'shutdown' | 'reboot' | 'stop';

async function power(word: Power, { hv, vm }: VmContext) {
  const { running, persistent } = await domainState(hv, vm);
  if (word === 'start') {
    if (running) throw new CommandError(`${vm} is already running`);
    const note = await doneOrCheckedNote(
      () => hv.start(vm),
      async () => (await domainState(hv, vm)).running,
    );
    return { reply: `started ${vm}${note}`, detail: `Start guest '${vm}'` };
  }
  if (!running) throw new CommandError(`${vm} is not running`);
  // A transient VM has no definition to come back to: once off, it is gone.
  const gone = persistent ? '' : `; ${vm} was transient, so it is gone now (no definition is left)`;
  if (word === 'shutdown') {
    await hv.shutdown(vm);
    return {
      reply: `asked ${vm} to shut down (ACPI); the guest decides when${persistent ? '' : `; ${vm} is transient: once off, it is gone`}`,
      detail: `Shutdown guest '${vm}'`,
    };
  }
  if (word === 'reboot') {
    await hv.reboot(vm);
    return { reply: `asked ${vm} to reboot`, detail: `Reboot guest '${vm}'` };
  }
  const note = await doneOrCheckedNote(
    () => hv.destroy(vm),
    async () => !(await hv.exists(vm)) || !(await domainState(hv, vm)).running,
  );
  return { reply: `stopped ${vm} (forced off)${note}${gone}`, detail: `Power off guest '${vm}'` };
}

const start = defineVmCommand({
  path: ['vm', 'start'],
  slashGroup: 'power',
  summary: 'start a VM',
  args: { vm: vmArg(), host: hostArg() },
  mutates: true,
  examples: [{ input: 'vm start test', reply: 'test is already running' }],
  run: ({ ctx }) => power('start', ctx),
});
const shutdown = defineVmCommand({
  path: ['vm', 'shutdown'],
  slashGroup: 'power',
  summary: 'ask a VM’s guest OS to shut down (ACPI)',
  args: { vm: vmArg(), host: hostArg() },
  mutates: true,
  examples: [{ input: 'vm shutdown test', reply: 'asked test to shut down' }],
  run: ({ ctx }) => power('shutdown', ctx),
});
const reboot = defineVmCommand({
  path: ['vm', 'reboot'],
  slashGroup: 'power',
  summary: 'ask a VM’s guest OS to reboot',
  args: { vm: vmArg(), host: hostArg() },
  mutates: true,
  examples: [{ input: 'vm reboot test', reply: 'asked test to reboot' }],
  run: ({ ctx }) => power('reboot', ctx),
});
const stop = defineVmCommand({
  path: ['vm', 'stop'],
  slashGroup: 'power',
  summary: 'force a VM off at once, like pulling the plug',
  args: { vm: vmArg(), host: hostArg() },
  destructive: true,
  examples: [
    { input: 'vm stop test', reply: "is destructive: type '!confirm", transport: 'irc' },
    {
      input: 'vm stop test',
      reply: '[Confirm] [Cancel]',
      transport: 'discord',
      note: 'buttons for the code',
    },
  ],
  run: ({ ctx }) => power('stop', ctx),
});

const create = defineNewVmCommand({
  path: ['vm', 'create'],
  summary: 'create a VM from a template (a new disk volume, the template’s networks); it starts off',
  args: {
    name: arg.vm('the new VM’s name (unique across hosts)').positional().required(),
    template: arg.name('template name (see template list)').required(),
    host: arg.host('host to create it on (default: the first host)'),
  },
  target: { vm: 'name' },
  mutates: true,
  examples: [
    { input: 'vm create web01 template=debian12', reply: 'created web01 from debian12 on test' },
    { input: 'vm create web01 template=nope', reply: "no template 'nope'" },
    { input: 'vm create test template=debian12', reply: "a VM named 'test' already exists on test" },
  ],
  async run({ args, ctx }) {
    const { hv, vm: name } = ctx;
    const template = ctx.directory.template(args.template);
    if (!template) {
      const known = ctx.directory.templates().map((t) => t.name);
      throw new CommandError(
        `no template '${args.template}' (templates: ${known.join(', ') || 'none configured'})`,
      );
    }
    return hv.withDomainLock(name, async () => {
      if (await hv.exists(name)) throw new CommandError(`a VM named '${name}' already exists on ${hv.name}`);
      for (const network of template.networks) {
        if (!(await hv.networkExists(network))) {
          throw new CommandError(
            `template ${template.name} needs network '${network}', which host ${hv.name} lacks`,
          );
        }
      }
      const pool = await resolvePool(hv, template.pool);
      const sizes = templateSizes(template);
      const domainType = domainTypeFor((await hv.virsh('capabilities')).stdout, template.arch);
      const volume = `${name}-disk0.qcow2`;
      if (await hv.volumeExists(pool, volume)) {
        throw new CommandError(`volume ${volume} already exists in pool ${pool}: delete it first`);
      }
      const diskPath = await hv.createVolume(pool, volume, sizes.diskKiB, 'qcow2');
      const macs: string[] = [];
      for (const _ of template.networks) macs.push(randomMac(macs));
      // On a Kimchi host the new VM's OS and users go in Kimchi's metadata, so Kimchi reads them too.
      const metadataFormat = hv.metadataMode === 'kimchi' ? 'kimchi' : 'virtbot';
      const built = buildDomain({
        name,
        template,
        domainType,
        diskPath,
        diskFormat: 'qcow2',
        macs,
        metadataFormat,
      });
      try {
        await hv.define(built.xml);
      } catch (error) {
        await hv.deleteVolume(pool, volume).catch(() => undefined);
        throw error;
      }
      const d = built.defaults;
      const nics = macs.map((mac, i) => `${mac} on ${template.networks[i]}`).join(', ');
      return {
        reply:
          `created ${name} from ${template.name} on ${hv.name}: ${plural(template.vcpus, 'vCPU')}, ${formatKiB(sizes.memoryKiB)}, ` +
          `disk ${formatKiB(sizes.diskKiB)} (${d.diskBus}, pool ${pool})` +
          (macs.length > 0 ? `, ${plural(macs.length, 'NIC')} (${d.nicModel}) ${nics}` : '') +
          `; it is off: 'vm start ${name}'`,
        detail: `Create guest '${name}' from template '${template.name}' (${template.distro} ${template.version}, ${template.arch}: NIC ${d.nicModel}, disk ${d.diskBus})`,
      };
    });
  },
});

const del = defineVmCommand({
  path: ['vm', 'delete'],
  summary: 'delete a VM (forced off first); its disk volumes are kept unless disks=remove',
  args: {
    vm: vmArg(),
    disks: arg.choice(['keep', 'remove'] as const, 'keep (default) or remove the VM’s disk volumes'),
    host: hostArg(),
  },
  destructive: true,
  examples: [{ input: 'vm delete test disks=remove', reply: 'is destructive' }],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const removeDisks = args.disks === 'remove';
    const state = await domainState(hv, vm);
    const view = await hv.domain(vm, { inactive: state.persistent });
    const hasNvram = path(view.root, 'os', 'nvram') !== undefined;
    const sharedWith = new Map<string, string[]>();
    if (removeDisks) {
      for (const disk of view.disks.filter((d) => d.device === 'disk' && d.source)) {
        const others = (await volumeUsers(hv, { path: disk.source! })).filter((u) => u !== vm);
        if (others.length > 0) sharedWith.set(disk.source!, others);
      }
    }
    if (state.running) await hv.destroy(vm);
    if (state.persistent) await hv.undefine(vm, { nvram: hasNvram });
    const kept: string[] = [];
    const removed: string[] = [];
    for (const disk of view.disks.filter((d) => d.device === 'disk' && d.source)) {
      if (!removeDisks) {
        kept.push(disk.source!);
        continue;
      }
      // A volume another VM still has as a disk is kept (it was checked before the VM went).
      const shared = sharedWith.get(disk.source!);
      if (shared !== undefined) {
        kept.push(`${disk.source!} (also a disk of ${shared.join(', ')})`);
        continue;
      }
      try {
        await hv.deleteVolumePath(disk.source!);
        removed.push(disk.source!);
      } catch {
        kept.push(`${disk.source!} (not a volume of a storage pool)`);
      }
    }
    const parts = [`deleted ${vm}${state.running ? ' (forced off first)' : ''}`];
    if (removed.length > 0) parts.push(`removed ${removed.join(', ')}`);
    if (kept.length > 0) parts.push(`kept ${kept.join(', ')}`);
    return {
      reply: parts.join('; '),
      detail: `Delete guest '${vm}'${removed.length > 0 ? ` and its storage ${removed.join(', ')}` : ''}`,
    };
  },
});

export const lifecycleCommands: CommandSpec[] = [start, shutdown, reboot, stop, create, del];
