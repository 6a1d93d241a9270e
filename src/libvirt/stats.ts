/**
 * Usage of running VMs and hosts, from two samples taken `intervalMs` apart: CPU %, memory,
 * disk and network I/O rates. One sample is one `domstats --raw` (every running VM at once, or
 * the named ones) and, for hosts, one `nodecpustats`. A driver whose `domstats` reports only the
 * state (libvirt's test driver) is sampled per VM with the older one-statistic commands
 * (`cpu-stats --total`, `dommemstat`, `domblkstat`, `domifstat`), so the figures mean the same.
 */
import type { Hypervisor } from './hypervisor.js';
import { checkName, type VirshArg } from './virsh-quote.js';
import { VirshError } from './virsh-shell.js';

/** How far apart the two samples are by default. */
export const STATS_INTERVAL_MS = 1000;

/** One domain's `domstats --raw` fields: `cpu.time`, `balloon.current`, `block.0.rd.bytes`, … */
export type Fields = Record<string, string>;

export interface Sample {
  /** When it was taken (ms, monotonic). */
  at: number;
  domains: Map<string, Fields>;
  /** Host CPU counters from nodecpustats (ns), when asked for. */
  node?: Record<string, number>;
}

/** `domstats --raw` output → fields per domain. */
export function parseDomstats(text: string): Map<string, Fields> {
  const out = new Map<string, Fields>();
  let current: Fields | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = /^Domain: '(.*)'$/.exec(line);
    if (header) {
      current = {};
      out.set(header[1]!, current);
      continue;
    }
    const at = line.indexOf('=');
    if (current && at > 0) current[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** `nodecpustats` output (`user: 123`) → counters. */
export function parseNodeCpu(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z]+):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

const GROUPS: VirshArg[] = [
  { option: '--state' },
  { option: '--cpu-total' },
  { option: '--balloon' },
  { option: '--vcpu' },
  { option: '--interface' },
  { option: '--block' },
];

/** One sample of the named VMs (or every running VM), and of the host's CPU when `node` is set. */
export async function sample(
  hv: Hypervisor,
  vms: readonly string[] | 'running',
  options: { node?: boolean } = {},
): Promise<Sample> {
  const args: VirshArg[] = [{ option: '--raw' }, ...GROUPS];
  if (vms === 'running') args.push({ option: '--list-active' });
  else for (const vm of vms) args.push(checkName('vm', vm));
  const at = performance.now();
  const domains = parseDomstats((await hv.virsh('domstats', args)).stdout);
  for (const [name, fields] of domains) {
    if (fields['cpu.time'] === undefined && fields['state.state'] === '1') await fillLegacy(hv, name, fields);
  }
  const result: Sample = { at, domains };
  if (options.node) {
    try {
      result.node = parseNodeCpu((await hv.virsh('nodecpustats')).stdout);
    } catch (error) {
      // A driver without host CPU counters still has its VMs' usage: the host's CPU is unknown.
      if (!(error instanceof VirshError)) throw error;
    }
  }
  return result;
}

/** The same fields from the one-statistic commands, for drivers whose domstats has only the state. */
async function fillLegacy(hv: Hypervisor, vm: string, fields: Fields): Promise<void> {
  const domain = { option: '--domain', value: vm } as const;
  const tryRun = async (command: string, args: VirshArg[]) => {
    try {
      return (await hv.virsh(command, args)).stdout;
    } catch (error) {
      if (error instanceof VirshError) return '';
      throw error;
    }
  };
  const cpu = /cpu_time\s+([\d.]+)\s+seconds/.exec(
    await tryRun('cpu-stats', [domain, { option: '--total' }]),
  );
  if (cpu) fields['cpu.time'] = String(Math.round(Number(cpu[1]) * 1e9));
  for (const line of (await tryRun('dommemstat', [domain])).split('\n')) {
    const m = /^(actual|rss|available|usable)\s+(\d+)/.exec(line.trim());
    if (m) fields[`balloon.${m[1] === 'actual' ? 'current' : m[1]}`] = m[2]!;
  }
  const view = await hv.domain(vm);
  fields['vcpu.current'] ??= String(view.vcpus);
  const disks = view.disks.filter((d) => d.device === 'disk');
  fields['block.count'] = String(disks.length);
  for (const [i, disk] of disks.entries()) {
    fields[`block.${i}.name`] = disk.target;
    const text = await tryRun('domblkstat', [domain, { option: '--device', value: disk.target }]);
    for (const m of text.matchAll(/^\S+ (rd_bytes|wr_bytes) (\d+)$/gm)) {
      fields[`block.${i}.${m[1] === 'rd_bytes' ? 'rd' : 'wr'}.bytes`] = m[2]!;
    }
  }
  const nics = view.nics.filter((n) => n.target !== undefined);
  fields['net.count'] = String(nics.length);
  for (const [i, nic] of nics.entries()) {
    fields[`net.${i}.name`] = nic.target!;
    const text = await tryRun('domifstat', [domain, { option: '--interface', value: nic.target! }]);
    for (const m of text.matchAll(/^\S+ (rx_bytes|tx_bytes) (\d+)$/gm)) {
      fields[`net.${i}.${m[1] === 'rx_bytes' ? 'rx' : 'tx'}.bytes`] = m[2]!;
    }
  }
}

export interface VmUsage {
  name: string;
  /** Of its vCPUs together (100 % = every vCPU busy); undefined when the driver gives no CPU time. */
  cpuPercent: number | undefined;
  vcpus: number | undefined;
  /** Memory the guest has (balloon), KiB. */
  memoryKiB: number | undefined;
  /** Resident on the host, KiB. */
  rssKiB: number | undefined;
  /** Used inside the guest (available − usable, from the balloon driver), KiB. */
  guestUsedKiB: number | undefined;
  /** Bytes per second, over every disk / NIC. */
  diskReadBps: number | undefined;
  diskWriteBps: number | undefined;
  netRxBps: number | undefined;
  netTxBps: number | undefined;
}

function num(fields: Fields | undefined, key: string): number | undefined {
  const value = fields?.[key];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** Sum of `prefix.N.suffix` over N < prefix.count. */
function total(fields: Fields | undefined, prefix: string, suffix: string): number | undefined {
  const count = num(fields, `${prefix}.count`);
  if (count === undefined) return undefined;
  let sum = 0;
  let seen = false;
  for (let i = 0; i < count; i++) {
    const v = num(fields, `${prefix}.${i}.${suffix}`);
    if (v !== undefined) {
      sum += v;
      seen = true;
    }
  }
  return seen || count === 0 ? sum : undefined;
}

function rate(a: number | undefined, b: number | undefined, seconds: number): number | undefined {
  if (a === undefined || b === undefined || seconds <= 0) return undefined;
  return Math.max(0, (b - a) / seconds);
}

/** What one VM used between two samples. */
export function usageOf(name: string, a: Fields | undefined, b: Fields, seconds: number): VmUsage {
  const vcpus = num(b, 'vcpu.current');
  const cpuNs = rate(num(a, 'cpu.time'), num(b, 'cpu.time'), seconds);
  const available = num(b, 'balloon.available');
  const usable = num(b, 'balloon.usable');
  return {
    name,
    cpuPercent: cpuNs === undefined ? undefined : (cpuNs / 1e9 / Math.max(1, vcpus ?? 1)) * 100,
    vcpus,
    memoryKiB: num(b, 'balloon.current'),
    rssKiB: num(b, 'balloon.rss'),
    guestUsedKiB: available !== undefined && usable !== undefined ? available - usable : undefined,
    diskReadBps: rate(total(a, 'block', 'rd.bytes'), total(b, 'block', 'rd.bytes'), seconds),
    diskWriteBps: rate(total(a, 'block', 'wr.bytes'), total(b, 'block', 'wr.bytes'), seconds),
    netRxBps: rate(total(a, 'net', 'rx.bytes'), total(b, 'net', 'rx.bytes'), seconds),
    netTxBps: rate(total(a, 'net', 'tx.bytes'), total(b, 'net', 'tx.bytes'), seconds),
  };
}

/** Two samples `intervalMs` apart. */
export async function measure(
  hv: Hypervisor,
  vms: readonly string[] | 'running',
  options: { node?: boolean; intervalMs?: number } = {},
): Promise<{ first: Sample; second: Sample; seconds: number }> {
  const first = await sample(hv, vms, options);
  await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? STATS_INTERVAL_MS));
  const second = await sample(hv, vms, options);
  return { first, second, seconds: (second.at - first.at) / 1000 };
}

/** Every VM running in both samples, with its usage. */
export function usages(first: Sample, second: Sample, seconds: number): VmUsage[] {
  const out: VmUsage[] = [];
  for (const [name, fields] of second.domains) {
    if (fields['state.state'] !== '1') continue;
    out.push(usageOf(name, first.domains.get(name), fields, seconds));
  }
  return out;
}

/** Host CPU busy % (all CPUs together) between two nodecpustats samples. */
export function nodeCpuPercent(
  a: Record<string, number> | undefined,
  b: Record<string, number> | undefined,
): number | undefined {
  if (!a || !b) return undefined;
  const sum = (s: Record<string, number>) => Object.values(s).reduce((x, y) => x + y, 0);
  const all = sum(b) - sum(a);
  const idle = (b['idle'] ?? 0) + (b['iowait'] ?? 0) - (a['idle'] ?? 0) - (a['iowait'] ?? 0);
  if (all <= 0) return undefined;
  return Math.min(100, Math.max(0, ((all - idle) / all) * 100));
}

/** `1.2 MB/s`, `0 B/s`, `-` for unknown. */
export function formatRate(bps: number | undefined): string {
  if (bps === undefined) return '-';
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let value = bps;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatPercent(p: number | undefined): string {
  return p === undefined ? '-' : `${p >= 10 ? Math.round(p) : p.toFixed(1)}%`;
}
