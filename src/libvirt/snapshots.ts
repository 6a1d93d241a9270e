/**
 * Snapshots of a VM: list, create, revert, delete. A VM whose writable disks are all qcow2 (or
 * whose driver does not say) gets an internal snapshot (`snapshot-create-as`: the disks and,
 * while it runs, its memory, inside the qcow2 files); a VM with a disk in another format (raw)
 * gets an external, disk-only one (new overlay files beside the disks; libvirt decides their
 * names), since a raw file cannot hold a snapshot.
 */
import type { DomainView } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { isNotFound } from './hypervisor.js';
import { checkName, type VirshArg } from './virsh-quote.js';
import { VirshError } from './virsh-shell.js';
import { child } from './xml.js';

export interface SnapshotInfo {
  name: string;
  /** As virsh prints it: 2026-12-01 12:03:00 +0000. */
  created: string;
  /** The VM's state when it was taken (running, shutoff, disk-snapshot, …). */
  state: string;
  parent: string | undefined;
  current: boolean;
  location: 'internal' | 'external';
}

const ROW = /^(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4})\s+(\S+)(?:\s+(\S+))?\s*$/;

/** `snapshot-list --parent` table → rows. */
export function parseSnapshotList(
  text: string,
): { name: string; created: string; state: string; parent?: string }[] {
  const out: { name: string; created: string; state: string; parent?: string }[] = [];
  for (const raw of text.split('\n')) {
    const m = ROW.exec(raw.trim());
    if (!m) continue;
    out.push({ name: m[1]!, created: m[2]!, state: m[3]!, ...(m[4] ? { parent: m[4] } : {}) });
  }
  return out;
}

const names = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

export async function listSnapshots(hv: Hypervisor, vm: string): Promise<SnapshotInfo[]> {
  const domain = { option: '--domain', value: checkName('vm', vm) } as const;
  const rows = parseSnapshotList((await hv.virsh('snapshot-list', [domain, { option: '--parent' }])).stdout);
  if (rows.length === 0) return [];
  const external = names(
    (await hv.virsh('snapshot-list', [domain, { option: '--external' }, { option: '--name' }])).stdout,
  );
  let current: string | undefined;
  try {
    current = (await hv.virsh('snapshot-current', [domain, { option: '--name' }])).stdout.trim() || undefined;
  } catch (error) {
    if (!(error instanceof VirshError)) throw error;
  }
  return rows.map((r) => ({
    name: r.name,
    created: r.created,
    state: r.state,
    parent: r.parent,
    current: r.name === current,
    location: external.includes(r.name) ? 'external' : 'internal',
  }));
}

/** The writable disks whose format cannot hold an internal snapshot (raw and kin). */
export function disksNeedingExternal(view: DomainView): string[] {
  return view.disks
    .filter((d) => d.device === 'disk' && !d.readonly)
    .filter((d) => {
      const format = child(d.element, 'driver')?.attrs['type'];
      return format !== undefined && format !== 'qcow2';
    })
    .map((d) => d.target);
}

export async function snapshotExists(hv: Hypervisor, vm: string, name: string): Promise<boolean> {
  try {
    await hv.virsh('snapshot-info', [
      { option: '--domain', value: checkName('vm', vm) },
      { option: '--snapshotname', value: checkName('volume', name) },
    ]);
    return true;
  } catch (error) {
    if (isNotFound(error) || (error instanceof VirshError && /snapshot not found/i.test(error.message)))
      return false;
    throw error;
  }
}

export interface Created {
  name: string;
  location: 'internal' | 'external';
  /** Why external, when it is. */
  why?: string;
}

export async function createSnapshot(
  hv: Hypervisor,
  vm: string,
  name: string,
  description?: string,
): Promise<Created> {
  checkName('vm', vm);
  checkName('volume', name);
  const view = await hv.domain(vm, { inactive: true });
  const raw = disksNeedingExternal(view);
  const args: VirshArg[] = [
    { option: '--domain', value: vm },
    { option: '--name', value: name },
  ];
  if (description !== undefined && description !== '')
    args.push({ option: '--description', value: description });
  if (raw.length > 0) args.push({ option: '--disk-only' }, { option: '--atomic' });
  await hv.virsh('snapshot-create-as', args, { timeoutMs: 30 * 60_000, long: true });
  return raw.length > 0
    ? { name, location: 'external', why: `disk ${raw.join(', ')} is not qcow2` }
    : { name, location: 'internal' };
}

export function revertSnapshot(hv: Hypervisor, vm: string, name: string): Promise<void> {
  return onSnapshot(hv, 'snapshot-revert', vm, name);
}

export function deleteSnapshot(hv: Hypervisor, vm: string, name: string): Promise<void> {
  return onSnapshot(hv, 'snapshot-delete', vm, name);
}

async function onSnapshot(hv: Hypervisor, command: string, vm: string, name: string): Promise<void> {
  await hv.virsh(
    command,
    [
      { option: '--domain', value: checkName('vm', vm) },
      { option: '--snapshotname', value: checkName('volume', name) },
    ],
    { timeoutMs: 30 * 60_000, long: true },
  );
}

/** A name for a snapshot virtbot takes by itself: `vb-before-vm-disk-remove-20261201t120300`. */
export function automaticName(path: readonly string[], time: Date): string {
  const stamp = time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .toLowerCase();
  return `vb-before-${path.join('-')}`.slice(0, 44) + `-${stamp}`;
}
