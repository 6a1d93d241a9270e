/**
 * Limits a change must stay within, asked of the host before anything is changed, and the
 * decisions built on them. Each `check…` returns a one-line refusal, or undefined when the change
 * may go ahead; commands call them and reply with the refusal as is.
 *
 *  - vCPUs: at most the machine type's limit (`virsh domcapabilities` for the VM's emulator,
 *    arch, machine and virt type: `<vcpu max=…>`) and the host's CPUs (`nodeinfo`);
 *  - memory: at most the host's memory; at least 64 MiB;
 *  - a new volume: at most the pool's free space (`pool-info --bytes`);
 *  - deleting a volume: refused while another domain's disk (live or config) uses it;
 *  - a NIC on a network: the network must exist and be active.
 *
 * Maxima go down as well as up while a VM is off (`planVcpus`, `planMemory`), so that a typo once
 * raised (4096 vCPUs, 1P of memory) does not leave the VM unable to start.
 */
import { formatKiB } from '../grammar/types.js';
import type { DomainView } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { nameLines, parseKeyValues } from './virsh/parse.js';
import { checkName, checkPath } from './virsh-quote.js';
import { child, elements, parseXml } from './xml.js';

export interface VcpuLimits {
  /** The machine type's limit (domcapabilities), or the driver's (`maxvcpus`) when it has no domcapabilities. */
  machineMax: number | undefined;
  /** What the limit is from, for messages: "machine pc-i440fx-7.2". */
  machine: string | undefined;
  /** The host's logical CPUs. */
  hostCpus: number | undefined;
}

export interface HostResources {
  cpus: number;
  memoryKiB: number;
}

export interface PoolSpace {
  pool: string;
  state: string;
  capacityBytes: number;
  allocationBytes: number;
  availableBytes: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** vCPUs: a one-line refusal, or undefined. `running`: the VM runs (its maximum cannot rise). */
export function checkVcpus(
  view: DomainView,
  limits: VcpuLimits,
  count: number,
  running: boolean,
): string | undefined {
  if (!Number.isInteger(count) || count < 1) return `${count} is not a number of vCPUs`;
  // The running VM's own maximum first: whatever the host has, it cannot rise while it runs.
  if (running && count > view.maxVcpus)
    return `at most ${plural(view.maxVcpus, 'vCPU')} while ${view.name} runs (its maximum); shut it down to raise the maximum`;
  if (limits.machineMax !== undefined && count > limits.machineMax)
    return `${view.name} can have at most ${plural(limits.machineMax, 'vCPU')} (${limits.machine ?? 'its machine type'}'s limit)`;
  if (limits.hostCpus !== undefined && count > limits.hostCpus)
    return `the host has ${plural(limits.hostCpus, 'CPU')}: ${plural(count, 'vCPU')} would overcommit it`;
  return undefined;
}

/** Memory: a one-line refusal, or undefined. */
export function checkMemory(
  view: DomainView,
  host: HostResources | undefined,
  kib: number,
  running: boolean,
): string | undefined {
  if (!Number.isFinite(kib) || kib < 64 * 1024) return `${formatKiB(kib)} is too little memory: at least 64M`;
  if (running && kib > view.memoryKiB)
    return `at most ${formatKiB(view.memoryKiB)} while ${view.name} runs (its maximum); shut it down to raise the maximum`;
  if (host !== undefined && kib > host.memoryKiB)
    return `the host has ${formatKiB(host.memoryKiB)} of memory: ${formatKiB(kib)} is more than all of it`;
  return undefined;
}

/** A new volume of `sizeKiB` in `space`'s pool: a refusal, or undefined. */
export function checkVolumeSize(space: PoolSpace, sizeKiB: number): string | undefined {
  if (space.state !== 'running') return `storage pool ${space.pool} is not active (${space.state})`;
  const wanted = sizeKiB * 1024;
  if (wanted > space.availableBytes)
    return `storage pool ${space.pool} has ${formatKiB(Math.floor(space.availableBytes / 1024))} free: ${formatKiB(sizeKiB)} does not fit`;
  return undefined;
}

/** Deleting the volume at `path` (a disk of `vm`): a refusal while another domain uses it. */
export function checkVolumeDelete(path: string, users: readonly string[], vm: string): string | undefined {
  const others = users.filter((u) => u !== vm);
  if (others.length === 0) return undefined;
  return `${path} is also a disk of ${others.join(', ')}: it is kept`;
}

/** A NIC on `network`: refusal unless it exists and is active. `active` undefined: no such network. */
export function checkNetwork(network: string, active: boolean | undefined): string | undefined {
  if (active === undefined) return `no network '${network}' on this host (see 'network list')`;
  if (!active)
    return `network '${network}' is not active: start it first (virsh net-start ${network}), or name another`;
  return undefined;
}

/** How to set vCPUs: the maximum follows the count while the VM is off (up and down). */
export function planVcpus(
  view: DomainView,
  count: number,
  running: boolean,
): { maximum?: number; count: number } {
  if (running) return { count };
  return count !== view.maxVcpus ? { maximum: count, count } : { count };
}

/** How to set memory: the maximum follows while the VM is off (up and down). */
export function planMemory(
  view: DomainView,
  kib: number,
  running: boolean,
): { maximumKiB?: number; kib: number } {
  if (running) return { kib };
  return kib !== view.memoryKiB ? { maximumKiB: kib, kib } : { kib };
}

// ------------------------------------------------------------------ queries

/** The VM's vCPU limits: its machine type's (domcapabilities) and the host's CPUs. */
export async function vcpuLimits(hv: Hypervisor, view: DomainView): Promise<VcpuLimits> {
  const host = await hostResources(hv).catch(() => undefined);
  const machine = view.machine;
  let machineMax: number | undefined;
  try {
    const args = [
      ...(view.type ? [{ option: '--virttype', value: view.type }] : []),
      { option: '--arch', value: view.archAsWritten },
      ...(machine ? [{ option: '--machine', value: machine }] : []),
    ];
    const caps = parseXml((await hv.virsh('domcapabilities', args)).stdout);
    const max = Number(child(caps, 'vcpu')?.attrs['max']);
    if (Number.isInteger(max) && max > 0) machineMax = max;
  } catch {
    // A driver without domcapabilities (the test driver): its own limit.
    const out = await hv
      .virsh('maxvcpus', view.type ? [{ option: '--type', value: view.type }] : [])
      .catch(() => undefined);
    const max = Number(out?.stdout.trim());
    if (Number.isInteger(max) && max > 0) machineMax = max;
  }
  return {
    machineMax,
    machine: machine ? `machine ${machine}` : undefined,
    hostCpus: host?.cpus,
  };
}

/** The host's CPUs and memory (`nodeinfo`). */
export async function hostResources(hv: Hypervisor): Promise<HostResources> {
  const info = await hv.nodeInfo();
  return {
    cpus: Number(info['CPU(s)'] ?? 0),
    memoryKiB: Number(/^(\d+)/.exec(info['Memory size'] ?? '')?.[1] ?? 0),
  };
}

/** A pool's space (`pool-info --bytes`). */
export async function poolSpace(hv: Hypervisor, pool: string): Promise<PoolSpace> {
  const text = (
    await hv.virsh('pool-info', [{ option: '--pool', value: checkName('pool', pool) }, { option: '--bytes' }])
  ).stdout;
  const info = parseKeyValues(text);
  const num = (name: string) => Number(/^\d+/.exec(info[name] ?? '')?.[0] ?? 0);
  return {
    pool,
    state: info['State'] ?? 'unknown',
    capacityBytes: num('Capacity'),
    allocationBytes: num('Allocation'),
    availableBytes: num('Available'),
  };
}

/** Does a network exist, and is it active? undefined: no such network. */
export async function networkActive(hv: Hypervisor, network: string): Promise<boolean | undefined> {
  try {
    const text = (await hv.virsh('net-info', [{ option: '--network', value: checkName('network', network) }]))
      .stdout;
    return /^Active:\s*yes$/m.test(text);
  } catch (error) {
    if (/not found|no network with matching|failed to get network/i.test((error as Error).message))
      return undefined;
    throw error;
  }
}

/** The disk sources of a domain XML: file/block paths, and pool/volume pairs. */
function diskSources(xml: string): { paths: string[]; volumes: string[] } {
  const devices = child(parseXml(xml), 'devices');
  const paths: string[] = [];
  const volumes: string[] = [];
  for (const disk of devices ? elements(devices, 'disk') : []) {
    const source = child(disk, 'source');
    const path = source?.attrs['file'] ?? source?.attrs['dev'];
    if (path) paths.push(path);
    if (source?.attrs['pool'] && source.attrs['volume'])
      volumes.push(`${source.attrs['pool']}/${source.attrs['volume']}`);
  }
  return { paths, volumes };
}

/**
 * The domains (by name) whose disks use `path` (or `pool/volume`), in their running VM or their
 * config: two round trips whatever the number of domains.
 */
export async function volumeUsers(
  hv: Hypervisor,
  target: { path?: string; pool?: string; volume?: string },
): Promise<string[]> {
  if (target.path !== undefined) checkPath(target.path);
  const names = nameLines((await hv.virsh('list', [{ option: '--all' }, { option: '--name' }])).stdout);
  const dumps = await hv.batch(
    names.flatMap((name) => [
      { command: 'dumpxml', args: [{ option: '--domain', value: name }] },
      { command: 'dumpxml', args: [{ option: '--domain', value: name }, { option: '--inactive' }] },
    ]),
  );
  const users = new Set<string>();
  const vol =
    target.pool !== undefined && target.volume !== undefined ? `${target.pool}/${target.volume}` : undefined;
  dumps.forEach((r, i) => {
    if (!r.ok) return; // vanished meanwhile
    const { paths, volumes } = diskSources(r.stdout);
    if (
      (target.path !== undefined && paths.includes(target.path)) ||
      (vol !== undefined && volumes.includes(vol))
    )
      users.add(names[Math.floor(i / 2)]!);
  });
  return [...users];
}
