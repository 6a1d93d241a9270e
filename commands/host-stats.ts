/**
 * `host stats` and `host top`: usage over every host the asker may see, as one fan-out — each host
 * sampled twice a second apart (`nodecpustats` and one `domstats` of its running VMs), all hosts
 * at once. `host stats`: per host CPU %, the memory its running VMs hold, their count. `host top`:
 * the busiest VMs of all hosts by CPU, one compact line each.
 */
import type { CommandSpec } from '../src/command/spec.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { formatPercent, measure, nodeCpuPercent, usages, type VmUsage } from '../src/libvirt/stats.js';
import { messageOf } from '../src/libvirt/virsh-shell.js';
import { arg, defineFleetCommand, type FleetContext } from '../src/pipeline/define.js';
import { formatKiB, plural } from './vm-common.js';
import { usageLine } from './vm-stats.js';

interface HostUsage {
  host: string;
  cpuPercent: number | undefined;
  cpus: number;
  memoryKiB: number;
  vms: VmUsage[];
}

async function hostUsage(hv: Hypervisor): Promise<HostUsage> {
  const node = await hv.nodeInfo();
  const { first, second, seconds } = await measure(hv, 'running', { node: true });
  return {
    host: hv.name,
    cpuPercent: nodeCpuPercent(first.node, second.node),
    cpus: Number(node['CPU(s)'] ?? 0),
    memoryKiB: Number(/^(\d+)/.exec(node['Memory size'] ?? '')?.[1] ?? 0),
    vms: usages(first, second, seconds),
  };
}

/** Every host at once; the unreachable ones with why. */
async function fleetUsage(ctx: FleetContext) {
  const answers = await Promise.allSettled(ctx.hosts.map(({ hv }) => hostUsage(hv)));
  const found: HostUsage[] = [];
  const unreachable: string[] = [];
  answers.forEach((a, i) => {
    if (a.status === 'fulfilled') found.push(a.value);
    else unreachable.push(`${ctx.hosts[i]!.name} (${messageOf(a.reason)})`);
  });
  const notes = [
    ...(unreachable.length > 0 ? [`not reachable: ${unreachable.join(', ')}`] : []),
    ...(ctx.withheld.length > 0
      ? [`not shown: ${ctx.withheld.map((w) => w.name).join(', ')} (not permitted)`]
      : []),
  ];
  return { found, notes };
}

const held = (h: HostUsage) => h.vms.reduce((sum, v) => sum + (v.memoryKiB ?? 0), 0);

const stats = defineFleetCommand({
  path: ['host', 'stats'],
  summary: 'usage of every host you may see (or host=): CPU %, memory its running VMs hold, how many run',
  args: { host: arg.host('only this host (default: every host you may see)') },
  examples: [
    { input: 'host stats', reply: /^test: CPU (-|[\d.]+%) of \d+ CPUs, 1 running VM holding 2G of / },
  ],
  async run({ ctx }) {
    const { found, notes } = await fleetUsage(ctx);
    const line = (h: HostUsage) =>
      `${h.host}: CPU ${formatPercent(h.cpuPercent)} of ${plural(h.cpus, 'CPU')}, ${plural(h.vms.length, 'running VM')} holding ${formatKiB(held(h))} of ${formatKiB(h.memoryKiB)}`;
    const lines = found.map(line);
    const reply = [
      found.length === 1 ? line(found[0]!) : `${plural(found.length, 'host')}: ${lines.join('; ')}`,
      ...notes,
    ].join('; ');
    return {
      reply,
      lines: found.length > 1 ? lines : [],
      detail: `Show usage of ${plural(found.length, 'host')}`,
      card: {
        title: 'host usage',
        fields: found.map((h) => ({
          name: h.host,
          value: `CPU ${formatPercent(h.cpuPercent)}, ${h.vms.length} running, ${formatKiB(held(h))} of ${formatKiB(h.memoryKiB)}`,
        })),
      },
    };
  },
});

const top = defineFleetCommand({
  path: ['host', 'top'],
  summary: 'the busiest VMs over every host you may see (or host=), by CPU; one line each',
  args: {
    host: arg.host('only this host (default: every host you may see)'),
    count: arg.int('how many to show (default 5)', { min: 1, max: 25 }),
  },
  examples: [{ input: 'host top', reply: /^busiest of 1 running VM on 1 host: test on test \([\d.]+%\)/ }],
  async run({ args, ctx }) {
    const { found, notes } = await fleetUsage(ctx);
    const all = found.flatMap((h) => h.vms.map((vm) => ({ host: h.host, vm })));
    all.sort((a, b) => (b.vm.cpuPercent ?? -1) - (a.vm.cpuPercent ?? -1));
    const shown = all.slice(0, args.count ?? 5);
    const reply =
      `busiest of ${plural(all.length, 'running VM')} on ${plural(found.length, 'host')}: ` +
      (shown.map((s) => `${s.vm.name} on ${s.host} (${formatPercent(s.vm.cpuPercent)})`).join(', ') ||
        'none') +
      (notes.length > 0 ? `; ${notes.join('; ')}` : '');
    return {
      reply,
      lines: shown.map((s) => `${s.vm.name} on ${s.host}: ${usageLine(s.vm)}`),
      detail: `Show the busiest guests of ${plural(found.length, 'host')}`,
      card: {
        title: 'busiest VMs',
        fields: shown.map((s) => ({ name: `${s.vm.name} on ${s.host}`, value: usageLine(s.vm) })),
      },
    };
  },
});

export const hostStatsCommands: CommandSpec[] = [stats, top];
