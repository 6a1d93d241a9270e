/**
 * `vm stats VM`: what a running VM uses, from two `domstats` samples a second apart — CPU % of its
 * vCPUs, memory (assigned, resident on the host, used inside when the balloon driver says),
 * disk and network rates. On Discord a card; on IRC one compact line.
 */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { formatPercent, formatRate, measure, usageOf, type VmUsage } from '../src/libvirt/stats.js';
import { defineVmCommand } from '../src/pipeline/define.js';
import { formatKiB, hostArg, vmArg } from './vm-common.js';

const kib = (v: number | undefined) => (v === undefined ? '-' : formatKiB(v));

/** One compact line: `CPU 3.2% of 2 vCPUs, mem 2G (1G resident), disk r 0 B/s w 0 B/s, net in 0 B/s out 0 B/s`. */
export function usageLine(u: VmUsage): string {
  const vcpus = u.vcpus !== undefined ? ` of ${u.vcpus} vCPU${u.vcpus === 1 ? '' : 's'}` : '';
  const inside = u.guestUsedKiB !== undefined ? `, ${kib(u.guestUsedKiB)} used inside` : '';
  const rss = u.rssKiB !== undefined ? ` (${kib(u.rssKiB)} resident${inside})` : '';
  return (
    `CPU ${formatPercent(u.cpuPercent)}${vcpus}, mem ${kib(u.memoryKiB)}${rss}, ` +
    `disk r ${formatRate(u.diskReadBps)} w ${formatRate(u.diskWriteBps)}, ` +
    `net in ${formatRate(u.netRxBps)} out ${formatRate(u.netTxBps)}`
  );
}

export function usageFields(u: VmUsage): { name: string; value: string }[] {
  return [
    {
      name: 'CPU',
      value: `${formatPercent(u.cpuPercent)}${u.vcpus !== undefined ? ` of ${u.vcpus} vCPUs` : ''}`,
    },
    { name: 'memory', value: `${kib(u.memoryKiB)} (${kib(u.rssKiB)} resident)` },
    { name: 'disk', value: `read ${formatRate(u.diskReadBps)}, write ${formatRate(u.diskWriteBps)}` },
    { name: 'network', value: `in ${formatRate(u.netRxBps)}, out ${formatRate(u.netTxBps)}` },
  ];
}

const stats = defineVmCommand({
  path: ['vm', 'stats'],
  summary: 'what a running VM uses: CPU %, memory, disk and network I/O (two samples a second apart)',
  args: { vm: vmArg(), host: hostArg() },
  examples: [{ input: 'vm stats test', reply: /^test on test: CPU [\d.]+% of 2 vCPUs, mem 2G/ }],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    if (!(await hv.isRunning(vm))) throw new CommandError(`${vm} is not running: no usage to measure`);
    const { first, second, seconds } = await measure(hv, [vm]);
    const fields = second.domains.get(vm);
    if (!fields) throw new CommandError(`${vm} stopped while it was measured`);
    const usage = usageOf(vm, first.domains.get(vm), fields, seconds);
    return {
      reply: `${vm} on ${hv.name}: ${usageLine(usage)} (over ${seconds.toFixed(1)} s)`,
      detail: `Show usage of guest '${vm}'`,
      card: { title: `${vm} on ${hv.name}`, fields: usageFields(usage) },
    };
  },
});

export const statsCommands: CommandSpec[] = [stats];
