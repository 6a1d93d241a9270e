/** `vm …`: list, inspect and operate libvirt domains. */
import type { CommandGroup, CommandResult, CommandSpec } from '../src/command/spec.js';
import { type DomainView, describeDisk, describeNic } from '../src/libvirt/domain.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { formatKiB, HOST_ARG, onVm, plural, result, str, userError, VM_ARG, VM_TARGET } from './vm-common.js';
import { lifecycleCommands } from './vm-create.js';
import { cdromCommands, diskCommands } from './vm-disk.js';
import { nicCommands } from './vm-nic.js';
import { resourceCommands } from './vm-resources.js';

const list: CommandSpec = {
  path: ['vm', 'list'],
  summary: 'list VMs with host, state, vCPUs and memory',
  args: [{ ...HOST_ARG, help: 'only this host (default: every host)' }],
  target: { host: 'host' },
  examples: [
    { input: 'vm list', reply: 'test (running, 2 vCPUs, 2G)' },
    { input: 'vm list host=test', reply: '1 VM on test' },
  ],
  async run(ctx, args) {
    const named = str(args, 'host');
    const hosts = named !== undefined ? [named] : ctx.hosts.names();
    // Every host at once; each host's commands still run one after the other in its own shell.
    const answers = await Promise.allSettled(hosts.map((host) => ctx.hosts.get(host).listDomains()));
    const rows: { host: string; name: string; state: string; vcpus: number; memoryKiB: number }[] = [];
    const failed: string[] = [];
    for (const [i, answer] of answers.entries()) {
      const host = hosts[i]!;
      if (answer.status === 'fulfilled') {
        for (const d of answer.value) {
          rows.push({ host, name: d.name, state: d.state, vcpus: d.vcpus, memoryKiB: d.memoryKiB });
        }
        continue;
      }
      // One unreachable host does not hide the others; alone, its failure is the answer.
      const error: unknown = answer.reason;
      if (hosts.length === 1) userError(error, `listing VMs on ${host}`);
      failed.push(`${host} (${error instanceof Error ? error.message : String(error)})`);
    }
    const brief = (r: (typeof rows)[number]) =>
      `${r.name} (${r.state}, ${plural(r.vcpus, 'vCPU')}, ${formatKiB(r.memoryKiB)})`;
    const where = hosts.length === 1 ? `on ${hosts[0]}` : `on ${plural(hosts.length, 'host')}`;
    let reply = `${plural(rows.length, 'VM')} ${where}`;
    if (rows.length > 0 && rows.length <= 5) reply += `: ${rows.map(brief).join(', ')}`;
    if (failed.length > 0) reply += `; not reachable: ${failed.join(', ')}`;
    const lines = rows.map(
      (r) =>
        `${r.name} — host ${r.host}, ${r.state}, ${plural(r.vcpus, 'vCPU')}, ${formatKiB(r.memoryKiB)} memory`,
    );
    const out = { reply, lines, detail: `List guests ${where}` };
    return named !== undefined ? { ...out, host: named } : out;
  },
};

const info: CommandSpec = {
  path: ['vm', 'info'],
  summary: 'show a VM: state, vCPUs, memory, OS, NICs, disks, users',
  args: [VM_ARG, HOST_ARG],
  target: VM_TARGET,
  examples: [
    { input: 'vm info test', reply: 'test on test: running, 2 vCPUs (max 2), memory 2G (max 8G)' },
    { input: 'vm info test', reply: '1 NIC, 1 disk' },
  ],
  async run(ctx, args) {
    const vm = str(args, 'vm')!;
    return onVm(ctx, args, vm, `reading VM '${vm}'`, async (hv) => {
      const [summary, view] = await Promise.all([hv.domainSummary(vm), hv.domain(vm)]);
      // What virtbot stored, and what changes at the next boot, live in the persistent config.
      const running = summary.state !== 'shut off';
      const config = running && summary.persistent ? await hv.domain(vm, { inactive: true }) : view;
      return describeVm(hv, vm, summary.state, view, config);
    });
  },
};

function describeVm(
  hv: Hypervisor,
  vm: string,
  state: string,
  view: DomainView,
  config: DomainView,
): CommandResult {
  const meta = config.metadata;
  const lines: string[] = [];
  const os = meta.distro ? `${meta.distro} ${meta.version ?? ''}`.trim() : 'unknown';
  lines.push(
    `OS: ${os}, arch ${view.arch}${meta.source !== 'none' ? ` (from ${meta.source} metadata)` : ''}` +
      (meta.nicModel ? `, NIC model ${meta.nicModel}` : '') +
      (meta.diskBus ? `, disk bus ${meta.diskBus}` : ''),
  );
  for (const nic of view.nics) lines.push(`NIC ${describeNic(nic)}`);
  for (const disk of view.disks) lines.push(`disk ${describeDisk(disk)}`);
  if (meta.users.length + meta.groups.length > 0) {
    lines.push(`users: ${meta.users.join(', ') || '-'}; groups: ${meta.groups.join(', ') || '-'}`);
  }
  const pending: string[] = [];
  if (config.vcpus !== view.vcpus) pending.push(plural(config.vcpus, 'vCPU'));
  if (config.currentMemoryKiB !== view.currentMemoryKiB)
    pending.push(`memory ${formatKiB(config.currentMemoryKiB)}`);
  if (config.nics.length !== view.nics.length) pending.push(plural(config.nics.length, 'NIC'));
  if (config.disks.length !== view.disks.length) pending.push(plural(config.disks.length, 'disk'));
  const reply =
    `${vm} on ${hv.name}: ${state}, ${plural(view.vcpus, 'vCPU')} (max ${view.maxVcpus}), ` +
    `memory ${formatKiB(view.currentMemoryKiB)} (max ${formatKiB(view.memoryKiB)}), ` +
    `${plural(view.nics.length, 'NIC')}, ${plural(view.disks.length, 'disk')}` +
    (pending.length > 0 ? `; from the next boot: ${pending.join(', ')}` : '');
  return result(hv, vm, reply, `Show guest '${vm}'`, lines);
}

export const group: CommandGroup = {
  name: 'vm',
  summary:
    'virtual machines: list, inspect, start and stop, create and delete, NICs, disks, CPU, memory, access',
  aliases: { iface: 'nic', interface: 'nic', mem: 'memory', vcpu: 'cpu', cd: 'cdrom' },
  commands: [
    list,
    info,
    ...lifecycleCommands,
    ...nicCommands,
    ...diskCommands,
    ...cdromCommands,
    ...resourceCommands,
  ],
};
