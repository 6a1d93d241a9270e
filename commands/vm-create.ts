/** `vm start|shutdown|reboot|stop|create|delete`: a VM's life cycle. */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { domainState } from '../src/libvirt/changes.js';
import { randomMac } from '../src/libvirt/domain.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { buildDomain, domainTypeFor, templateSizes } from '../src/libvirt/template.js';
import { path } from '../src/libvirt/xml.js';
import {
  changeVm,
  doneOrCheckedNote,
  formatKiB,
  guarded,
  HOST_ARG,
  hostOf,
  plural,
  result,
  str,
  VM_ARG,
  VM_TARGET,
} from './vm-common.js';

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

const DOING = {
  start: 'starting',
  shutdown: 'shutting down',
  reboot: 'rebooting',
  stop: 'stopping',
} as const;

function powerCommand(
  word: 'start' | 'shutdown' | 'reboot' | 'stop',
  spec: Pick<CommandSpec, 'summary' | 'examples'> & { destructive?: boolean },
): CommandSpec {
  return {
    path: ['vm', word],
    summary: spec.summary,
    args: [VM_ARG, HOST_ARG],
    target: VM_TARGET,
    examples: spec.examples,
    ...(spec.destructive ? { destructive: true } : {}),
    async run(ctx, args) {
      const vm = str(args, 'vm')!;
      return changeVm(ctx, args, vm, `${DOING[word]} '${vm}'`, async (hv) => {
        const { running } = await domainState(hv, vm);
        if (word === 'start') {
          if (running) throw new CommandError(`${vm} is already running`);
          const note = await doneOrCheckedNote(
            () => hv.start(vm),
            async () => (await domainState(hv, vm)).running,
          );
          return result(hv, vm, `started ${vm}${note}`, `Start guest '${vm}'`);
        }
        if (!running) throw new CommandError(`${vm} is not running`);
        if (word === 'shutdown') {
          await hv.shutdown(vm);
          return result(
            hv,
            vm,
            `asked ${vm} to shut down (ACPI); the guest decides when`,
            `Shutdown guest '${vm}'`,
          );
        }
        if (word === 'reboot') {
          await hv.reboot(vm);
          return result(hv, vm, `asked ${vm} to reboot`, `Reboot guest '${vm}'`);
        }
        const note = await doneOrCheckedNote(
          () => hv.destroy(vm),
          async () => !(await domainState(hv, vm)).running,
        );
        return result(hv, vm, `stopped ${vm} (forced off)${note}`, `Power off guest '${vm}'`);
      });
    },
  };
}

const start = powerCommand('start', {
  summary: 'start a VM',
  examples: [{ input: 'vm start test', reply: 'test is already running' }],
});
const shutdown = powerCommand('shutdown', {
  summary: 'ask a VM’s guest OS to shut down (ACPI)',
  examples: [{ input: 'vm shutdown test', reply: 'asked test to shut down' }],
});
const reboot = powerCommand('reboot', {
  summary: 'ask a VM’s guest OS to reboot',
  examples: [{ input: 'vm reboot test', reply: 'asked test to reboot' }],
});
const stop = powerCommand('stop', {
  summary: 'force a VM off at once, like pulling the plug',
  destructive: true,
  examples: [{ input: 'vm stop test', reply: 'is destructive' }],
});

const create: CommandSpec = {
  path: ['vm', 'create'],
  summary: 'create a VM from a template (a new disk volume, the template’s networks); it starts off',
  args: [
    { name: 'name', type: 'vm', positional: true, required: true, help: 'the new VM’s name' },
    { name: 'template', type: 'name', required: true, help: 'template name (see template list)' },
    { name: 'host', type: 'host', help: 'host to create it on (default: the first host)' },
  ],
  target: { vm: 'name', host: 'host' },
  examples: [
    { input: 'vm create web01 template=debian12', reply: 'created web01 from debian12 on test' },
    { input: 'vm create web01 template=nope', reply: "no template 'nope'" },
  ],
  async run(ctx, args) {
    const name = str(args, 'name')!;
    const templateName = str(args, 'template')!;
    const template = ctx.hosts.template(templateName);
    if (!template) {
      const known = ctx.hosts.templates().map((t) => t.name);
      throw new CommandError(
        `no template '${templateName}' (templates: ${known.join(', ') || 'none configured'})`,
      );
    }
    const hv = hostOf(ctx, args);
    return guarded(`creating '${name}'`, () =>
      hv.withDomainLock(name, async () => {
        if (await hv.exists(name))
          throw new CommandError(`a VM named '${name}' already exists on ${hv.name}`);
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
        const built = buildDomain({ name, template, domainType, diskPath, diskFormat: 'qcow2', macs });
        try {
          await hv.define(built.xml);
        } catch (error) {
          await hv.deleteVolume(pool, volume).catch(() => undefined);
          throw error;
        }
        const d = built.defaults;
        const nics = macs.map((mac, i) => `${mac} on ${template.networks[i]}`).join(', ');
        return result(
          hv,
          name,
          `created ${name} from ${template.name} on ${hv.name}: ${plural(template.vcpus, 'vCPU')}, ${formatKiB(sizes.memoryKiB)}, ` +
            `disk ${formatKiB(sizes.diskKiB)} (${d.diskBus}, pool ${pool})` +
            (macs.length > 0 ? `, ${plural(macs.length, 'NIC')} (${d.nicModel}) ${nics}` : '') +
            `; it is off: 'vm start ${name}'`,
          `Create guest '${name}' from template '${template.name}' (${template.distro} ${template.version}, ${template.arch}: NIC ${d.nicModel}, disk ${d.diskBus})`,
        );
      }),
    );
  },
};

const del: CommandSpec = {
  path: ['vm', 'delete'],
  summary: 'delete a VM (forced off first); its disk volumes are kept unless disks=remove',
  args: [
    VM_ARG,
    {
      name: 'disks',
      type: 'enum',
      choices: ['keep', 'remove'],
      help: 'keep (default) or remove the VM’s disk volumes',
    },
    HOST_ARG,
  ],
  destructive: true,
  target: VM_TARGET,
  examples: [{ input: 'vm delete test disks=remove', reply: 'is destructive' }],
  async run(ctx, args) {
    const vm = str(args, 'vm')!;
    const removeDisks = str(args, 'disks') === 'remove';
    return changeVm(ctx, args, vm, `deleting '${vm}'`, async (hv) => {
      const state = await domainState(hv, vm);
      const view = await hv.domain(vm, { inactive: state.persistent });
      const hasNvram = path(view.root, 'os', 'nvram') !== undefined;
      if (state.running) await hv.destroy(vm);
      if (state.persistent) await hv.undefine(vm, { nvram: hasNvram });
      const kept: string[] = [];
      const removed: string[] = [];
      for (const disk of view.disks.filter((d) => d.device === 'disk' && d.source)) {
        if (!removeDisks) {
          kept.push(disk.source!);
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
      return result(
        hv,
        vm,
        parts.join('; '),
        `Delete guest '${vm}'${removed.length > 0 ? ` and its storage ${removed.join(', ')}` : ''}`,
      );
    });
  },
};

export const lifecycleCommands: CommandSpec[] = [start, shutdown, reboot, stop, create, del];
