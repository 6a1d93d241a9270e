/**
 * Which host resources a command may name. A disk or ISO `path=` must lie inside one of the
 * host's storage pools (their target directories, as libvirt reports them) or inside a directory
 * or file the host's config lists under `paths`; device nodes under /dev only when listed (a pool
 * of block devices lists itself). A `bridge=` must be one the host's config lists under
 * `bridges`. This holds for everyone, roles included: a chat command never reaches
 * /etc/shadow or /dev/sda by naming it.
 */
import type { HostConfig } from '../config/sections/hosts.js';
import type { Hypervisor } from './hypervisor.js';
import { parseXml, path as pathOf, textOf } from './xml.js';

/** The target directories of the host's storage pools. */
export async function poolDirectories(hv: Hypervisor): Promise<string[]> {
  const { stdout } = await hv.virsh('pool-list', [{ option: '--all' }, { option: '--name' }]);
  const names = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const dirs: string[] = [];
  for (const name of names) {
    const xml = parseXml((await hv.virsh('pool-dumpxml', [{ option: '--pool', value: name }])).stdout);
    const path = textOf(pathOf(xml, 'target', 'path'))?.trim();
    if (path) dirs.push(path);
  }
  return dirs;
}

/** `path` is `place` or lies below it (whole path components only: /pool2 is not inside /pool). */
export function within(path: string, place: string): boolean {
  const base = place.endsWith('/') ? place.slice(0, -1) : place;
  return path === base || path.startsWith(`${base}/`);
}

/** Why `path` may not be used on this host, or undefined when it may. */
export async function refusePath(
  hv: Hypervisor,
  host: HostConfig,
  path: string,
): Promise<string | undefined> {
  const listed = host.paths ?? [];
  if (listed.some((place) => within(path, place))) return undefined;
  if (!path.startsWith('/dev/')) {
    const pools = await poolDirectories(hv);
    if (pools.some((dir) => dir !== '/' && within(path, dir))) return undefined;
  }
  const places = listed.length > 0 ? ` or ${listed.join(', ')}` : '';
  return `${path} is not inside a storage pool of host ${host.name}${places}: only pool volumes and the host's listed paths may be used (hosts[].paths in the config)`;
}

/** Why `bridge` may not be used on this host, or undefined when it may. */
export function refuseBridge(host: HostConfig, bridge: string): string | undefined {
  const listed = host.bridges ?? [];
  if (listed.includes(bridge)) return undefined;
  return listed.length === 0
    ? `host ${host.name} lists no bridges VMs may use (hosts[].bridges in the config): use network=`
    : `bridge ${bridge} is not one host ${host.name} lets VMs use (${listed.join(', ')})`;
}
