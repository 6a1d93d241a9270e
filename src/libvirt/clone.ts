/**
 * `vm clone SRC NEW`, done with libvirt alone (no virt-clone on the host): the source must be
 * shut off; each of its writable disks that is a volume of a storage pool is copied in that pool
 * (`vol-clone`, named NEW-TARGET.EXT); CD-ROMs and read-only or shared disks are shared as they
 * are; the copy gets a new name, no UUID (libvirt makes one), a new random MAC on every NIC, and
 * no NVRAM path (UEFI variables start fresh from the template). The NIC model and every other
 * device are kept. virtbot's access list is reset (nobody but roles may use the clone) unless
 * `keepAccess`; its OS and device choices are kept. A disk that is not a pool volume stops the
 * clone before anything is made. Whatever was copied is removed again when a later step fails
 * or the clone is cancelled.
 */
import { randomMac } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { embedVirtbotElement, virtbotElement, withAccess } from './metadata.js';
import { checkName, checkPath } from './virsh-quote.js';
import { child, elements, parseXml, removeChild, setText, textOf, type XmlElement } from './xml.js';

export interface CloneOptions {
  keepAccess?: boolean;
  /** Told before each disk is copied ("copying disk 1 of 2 (vda)"). */
  progress?: (text: string) => void;
  /** Checked between steps: a cancelled clone stops and removes what it made. */
  signal?: AbortSignal;
}

export interface CloneResult {
  disks: { target: string; from: string; to: string }[];
  shared: string[];
  macs: { from: string; to: string }[];
  accessReset: boolean;
}

export class CloneError extends Error {}

interface DiskPlan {
  target: string;
  source: XmlElement;
  attr: 'file' | 'dev' | 'volume';
  path: string;
  pool: string;
  volume: string;
}

async function volumeOf(hv: Hypervisor, path: string): Promise<{ pool: string; volume: string }> {
  const vol = { option: '--vol', value: checkPath(path) } as const;
  try {
    const pool = (await hv.virsh('vol-pool', [vol])).stdout.trim();
    const volume = (await hv.virsh('vol-name', [vol])).stdout.trim();
    return { pool, volume };
  } catch {
    throw new CloneError(`${path} is not a volume of a storage pool on ${hv.name}, so it cannot be copied`);
  }
}

function newVolumeName(volume: string, name: string, target: string): string {
  const ext = /\.(qcow2|raw|img|vmdk|vdi)$/i.exec(volume)?.[0] ?? '';
  return checkName('volume', `${name}-${target}${ext}`);
}

export async function cloneVm(
  hv: Hypervisor,
  src: string,
  name: string,
  options: CloneOptions = {},
): Promise<CloneResult> {
  checkName('vm', src);
  checkName('vm', name);
  const state = await hv.domainState(src);
  if (state !== 'shut off') throw new CloneError(`${src} is ${state}: shut it down before cloning it`);
  const domain = parseXml(await hv.dumpXml(src, { inactive: true }));
  const devices = child(domain, 'devices');
  const plans: DiskPlan[] = [];
  const shared: string[] = [];
  for (const disk of elements(devices ?? domain, 'disk')) {
    const target = child(disk, 'target')?.attrs['dev'] ?? '?';
    const source = child(disk, 'source');
    const device = disk.attrs['device'] ?? 'disk';
    const readOnly = child(disk, 'readonly') !== undefined || child(disk, 'shareable') !== undefined;
    if (!source || device !== 'disk' || readOnly) {
      if (source) shared.push(target);
      continue;
    }
    if (source.attrs['pool'] !== undefined && source.attrs['volume'] !== undefined) {
      const pool = source.attrs['pool'];
      const volume = source.attrs['volume'];
      plans.push({ target, source, attr: 'volume', path: `${pool}/${volume}`, pool, volume });
      continue;
    }
    const attr = source.attrs['file'] !== undefined ? 'file' : 'dev';
    const path = source.attrs[attr];
    if (path === undefined) throw new CloneError(`disk ${target} of ${src} has no source path to copy`);
    plans.push({ target, source, attr, path, ...(await volumeOf(hv, path)) });
  }
  for (const plan of plans) {
    const to = newVolumeName(plan.volume, name, plan.target);
    if (await hv.volumeExists(plan.pool, to))
      throw new CloneError(`volume ${to} already exists in pool ${plan.pool}: delete it first`);
  }

  const made: { pool: string; volume: string }[] = [];
  const undo = async () => {
    for (const m of made) await hv.deleteVolume(m.pool, m.volume).catch(() => undefined);
  };
  const result: CloneResult = { disks: [], shared, macs: [], accessReset: !options.keepAccess };
  try {
    for (const [i, plan] of plans.entries()) {
      if (options.signal?.aborted) throw new CloneError('cancelled');
      options.progress?.(`copying disk ${i + 1} of ${plans.length} (${plan.target}, ${plan.volume})`);
      const to = newVolumeName(plan.volume, name, plan.target);
      await hv.virsh(
        'vol-clone',
        [
          { option: '--pool', value: checkName('pool', plan.pool) },
          { option: '--vol', value: checkName('volume', plan.volume) },
          { option: '--newname', value: to },
        ],
        { timeoutMs: 6 * 60 * 60_000, long: true },
      );
      made.push({ pool: plan.pool, volume: to });
      if (plan.attr === 'volume') {
        plan.source.attrs['volume'] = to;
        result.disks.push({ target: plan.target, from: plan.path, to: `${plan.pool}/${to}` });
      } else {
        const path = await hv.volumePath(plan.pool, to);
        plan.source.attrs[plan.attr] = path;
        result.disks.push({ target: plan.target, from: plan.path, to: path });
      }
    }
    if (options.signal?.aborted) throw new CloneError('cancelled');
    rewrite(domain, name, result, options.keepAccess === true);
    await hv.define(domain);
  } catch (error) {
    await undo();
    throw error;
  }
  return result;
}

/** The copy's identity: new name, no UUID, new MACs, no NVRAM path, access reset or kept. */
function rewrite(domain: XmlElement, name: string, result: CloneResult, keepAccess: boolean): void {
  const nameElement = child(domain, 'name');
  if (!nameElement) throw new CloneError('the source definition has no <name>');
  setText(nameElement, name);
  const uuid = child(domain, 'uuid');
  if (uuid) removeChild(domain, uuid);
  const devices = child(domain, 'devices');
  const interfaces = devices ? elements(devices, 'interface') : [];
  const taken = interfaces.map((i) => child(i, 'mac')?.attrs['address'] ?? '');
  for (const iface of interfaces) {
    const mac = child(iface, 'mac');
    const to = randomMac([...taken, ...result.macs.map((m) => m.to)]);
    if (mac) {
      result.macs.push({ from: mac.attrs['address'] ?? '?', to });
      mac.attrs['address'] = to;
    }
    const target = child(iface, 'target');
    if (target) removeChild(iface, target);
  }
  const nvram = child(child(domain, 'os') ?? domain, 'nvram');
  if (nvram && textOf(nvram)) nvram.children = [];
  if (!keepAccess) {
    const ours = virtbotElement(domain);
    const meta = child(domain, 'metadata');
    // An empty access list of virtbot's own also hides any Kimchi access list.
    if (ours || meta) embedVirtbotElement(domain, withAccess(ours, [], []));
  }
}
