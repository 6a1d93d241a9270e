/** `vm …`: list, inspect and operate libvirt domains. */
import { CommandError, type CommandGroup, type CommandResult } from '../src/command/spec.js';
import { type DomainView, describeDisk, describeNic } from '../src/libvirt/domain.js';
import { messageOf } from '../src/libvirt/virsh-shell.js';
import { defineFleetCommand, defineVmCommand } from '../src/pipeline/define.js';
import { formatKiB, hostArg, plural, vmArg } from './vm-common.js';
import { lifecycleCommands } from './vm-create.js';
import { cdromCommands, diskCommands } from './vm-disk.js';
import { guestCommands } from './vm-guest.js';
import { moreLifecycleCommands } from './vm-lifecycle.js';
import { nicCommands } from './vm-nic.js';
import { resourceCommands } from './vm-resources.js';
import { snapshotCommands } from './vm-snapshot.js';
import { statsCommands } from './vm-stats.js';

const list = defineFleetCommand({
  path: ['vm', 'list'],
  summary: 'list VMs with host, state, vCPUs and memory (every host you may see, or host=)',
  args: { host: hostArg('only this host (default: every host you may see)') },
  examples: [
    { input: 'vm list', reply: 'test (running, 2 vCPUs, 2G)' },
    { input: 'vm list host=test', reply: '1 VM on test' },
  ],
  async run({ ctx }) {
    // Every host at once; each host's commands still run one after the other in its own shell.
    const answers = await Promise.allSettled(ctx.hosts.map(({ hv }) => hv.listDomains()));
    const rows: {
      host: string;
      name: string;
      state: string;
      vcpus: number;
      memoryKiB: number;
      persistent: boolean;
      addressable: boolean;
      unaddressable?: string;
    }[] = [];
    const unreachable: { host: string; reason: string }[] = [];
    answers.forEach((answer, i) => {
      const host = ctx.hosts[i]!.name;
      if (answer.status === 'fulfilled') for (const d of answer.value) rows.push({ host, ...d });
      else unreachable.push({ host, reason: messageOf(answer.reason) });
    });
    // Alone, an unreachable host's failure is the answer; among others, it is noted.
    if (ctx.hosts.length === 1 && unreachable.length === 1) {
      throw new CommandError(`listing VMs on ${unreachable[0]!.host} failed: ${unreachable[0]!.reason}`);
    }
    const names = ctx.hosts.map((h) => h.name);
    const where = names.length === 1 ? `on ${names[0]}` : `on ${plural(names.length, 'host')}`;
    const brief = (r: (typeof rows)[number]) =>
      `${r.name} (${r.state}, ${plural(r.vcpus, 'vCPU')}, ${formatKiB(r.memoryKiB)})`;
    let reply = `${plural(rows.length, 'VM')} ${where}`;
    if (rows.length > 0 && rows.length <= 5) reply += `: ${rows.map(brief).join(', ')}`;
    if (unreachable.length > 0)
      reply += `; not reachable: ${unreachable.map((u) => `${u.host} (${u.reason})`).join(', ')}`;
    if (ctx.withheld.length > 0)
      reply += `; not shown: ${ctx.withheld.map((w) => w.name).join(', ')} (not permitted)`;
    // A transient VM is gone once stopped; a name virtbot cannot address is shown, not hidden.
    const marks = (r: (typeof rows)[number]) =>
      `${r.persistent ? '' : ', transient (gone once stopped)'}${r.addressable ? '' : `, not addressable by virtbot: ${r.unaddressable ?? 'its name'}`}`;
    const lines = rows.map(
      (r) =>
        `${r.name} — host ${r.host}, ${r.state}, ${plural(r.vcpus, 'vCPU')}, ${formatKiB(r.memoryKiB)} memory${marks(r)}`,
    );
    return { reply, lines, detail: `List guests ${where}` };
  },
});

const info = defineVmCommand({
  path: ['vm', 'info'],
  summary: 'show a VM: state, vCPUs, memory, OS, NICs, disks, users',
  args: { vm: vmArg(), host: hostArg() },
  examples: [
    { input: 'vm info test', reply: 'test on test: running, 2 vCPUs (max 2), memory 2G (max 8G)' },
    { input: 'vm info test', reply: '1 NIC, 1 disk' },
  ],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    const [summary, view] = await Promise.all([hv.domainSummary(vm), hv.domain(vm)]);
    // What virtbot stored, and what changes at the next boot, live in the persistent config.
    const running = summary.state !== 'shut off';
    const config = running && summary.persistent ? await hv.domain(vm, { inactive: true }) : view;
    return describeVm(hv.name, vm, summary.state, view, config);
  },
});

function describeVm(
  host: string,
  vm: string,
  state: string,
  view: DomainView,
  config: DomainView,
): CommandResult {
  const meta = config.metadata;
  const os = meta.distro ? `${meta.distro} ${meta.version ?? ''}`.trim() : 'unknown';
  const lines: string[] = [
    `OS: ${os}, arch ${view.arch}${meta.source !== 'none' ? ` (from ${meta.source} metadata)` : ''}` +
      (meta.nicModel ? `, NIC model ${meta.nicModel}` : '') +
      (meta.diskBus ? `, disk bus ${meta.diskBus}` : ''),
  ];
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
    `${vm} on ${host}: ${state}, ${plural(view.vcpus, 'vCPU')} (max ${view.maxVcpus}), ` +
    `memory ${formatKiB(view.currentMemoryKiB)} (max ${formatKiB(view.memoryKiB)}), ` +
    `${plural(view.nics.length, 'NIC')}, ${plural(view.disks.length, 'disk')}` +
    (pending.length > 0 ? `; from the next boot: ${pending.join(', ')}` : '');
  return {
    reply,
    lines,
    detail: `Show guest '${vm}'`,
    card: {
      title: `${vm} on ${host}`,
      fields: [
        { name: 'state', value: state },
        { name: 'vCPUs', value: `${view.vcpus} (max ${view.maxVcpus})` },
        { name: 'memory', value: `${formatKiB(view.currentMemoryKiB)} (max ${formatKiB(view.memoryKiB)})` },
        { name: 'OS', value: `${os}, ${view.arch}` },
        { name: 'NICs', value: view.nics.map((n) => n.mac).join(', ') || 'none' },
        { name: 'disks', value: view.disks.map((d) => d.target).join(', ') || 'none' },
      ],
    },
  };
}

export const group: CommandGroup = {
  name: 'vm',
  summary:
    'virtual machines: list, inspect, start and stop, create, clone and delete, NICs, disks, CPU, memory, access, snapshots, addresses, usage',
  aliases: { iface: 'nic', interface: 'nic', mem: 'memory', vcpu: 'cpu', cd: 'cdrom' },
  commands: [
    list,
    info,
    ...lifecycleCommands,
    ...nicCommands,
    ...diskCommands,
    ...cdromCommands,
    ...resourceCommands,
    ...moreLifecycleCommands,
    ...snapshotCommands,
    ...guestCommands,
    ...statsCommands,
  ],
};
