/** `vm disk list|add|remove` and `vm cdrom insert|eject`: a VM's block devices. */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import {
  type Applied,
  appliedNote,
  applyDevice,
  configEdits,
  type DomainState,
  domainState,
} from '../src/libvirt/changes.js';
import { BUS_LIMITS, cdromBus, chooseDiskBus, DISK_BUSES, HOTPLUG_BUSES } from '../src/libvirt/choose.js';
import {
  type DiskInfo,
  type DomainView,
  describeDisk,
  diskElement,
  nextTarget,
} from '../src/libvirt/domain.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { checkVolumeDelete, checkVolumeSize, poolSpace, volumeUsers } from '../src/libvirt/limits.js';
import { plainError } from '../src/libvirt/virsh/errors.js';
import { child, el, type XmlElement } from '../src/libvirt/xml.js';
import { arg, defineVmCommand, exactlyOne } from '../src/pipeline/define.js';
import { settlesOf } from './vm-changes.js';
import { formatKiB, hostArg, vmArg } from './vm-common.js';
import { resolvePool } from './vm-create.js';

/** Config and live views (the same object when the VM is off or transient). */
async function views(
  hv: Hypervisor,
  vm: string,
  state: DomainState,
): Promise<{ config: DomainView; live: DomainView }> {
  const config = await hv.domain(vm, { inactive: state.persistent });
  const live = state.running && state.persistent ? await hv.domain(vm) : config;
  return { config, live };
}

function allDisks(v: { config: DomainView; live: DomainView }): DiskInfo[] {
  const seen = new Map<string, DiskInfo>();
  for (const d of [...v.live.disks, ...v.config.disks]) if (!seen.has(d.target)) seen.set(d.target, d);
  return [...seen.values()];
}

/** Does the VM's config (or, when transient, the running VM) have a disk at this target? */
async function hasDisk(hv: Hypervisor, vm: string, target: string, persistent: boolean): Promise<boolean> {
  return (await hv.domain(vm, { inactive: persistent })).disks.some((d) => d.target === target);
}

function matchTarget(target: string) {
  return (e: XmlElement) => e.name === 'disk' && child(e, 'target')?.attrs['dev'] === target;
}

const diskList = defineVmCommand({
  path: ['vm', 'disk', 'list'],
  summary: 'list a VM’s disks and CD-ROM drives (target, bus, source)',
  args: { vm: vmArg(), host: hostArg() },
  examples: [{ input: 'vm disk list test', reply: 'vda (disk, virtio, /guest/diskimage1)' }],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    const disks = allDisks(await views(hv, vm, await domainState(hv, vm)));
    // A disk asked to go that the guest has not released yet is still listed, and marked.
    const waiting = new Set(
      hv
        .pendingChanges(vm)
        .map((p) => p.key)
        .flatMap((key) => (key.kind === 'disk' ? [key.target] : [])),
    );
    const mark = (d: DiskInfo) => (waiting.has(d.target) ? ', waiting for the guest to release it' : '');
    const brief = (d: DiskInfo) =>
      `${d.target} (${d.device}, ${d.bus}, ${d.source ?? (d.volume ? `${d.pool}/${d.volume}` : 'empty')}${mark(d)})`;
    const reply = disks.length === 0 ? `${vm} has no disks` : `${vm}: ${disks.map(brief).join(', ')}`;
    return {
      reply,
      lines: disks.map((d) => `${describeDisk(d)}${mark(d)}`),
      detail: `List storage devices of guest '${vm}'`,
    };
  },
});

/** Checks shared by disk and CD-ROM hotplug: the bus can hotplug, and has room. */
function checkBus(vm: string, bus: string, running: boolean, disks: DiskInfo[], kind: string): void {
  if (running && !HOTPLUG_BUSES.has(bus)) {
    throw new CommandError(
      `${bus.toUpperCase()} ${kind}s cannot be hotplugged: shut ${vm} down first${kind === 'disk' ? ', or use bus=virtio' : ''}`,
    );
  }
  const onBus = disks.filter((d) => d.bus === bus).length;
  const limit = BUS_LIMITS[bus];
  if (limit !== undefined && onBus >= limit) {
    throw new CommandError(
      `${vm} already has ${onBus} devices on its ${bus.toUpperCase()} bus, the most it takes`,
    );
  }
}

const diskAdd = defineVmCommand({
  path: ['vm', 'disk', 'add'],
  summary:
    'add a new volume (size=10G [pool=P]) or an existing image in a storage pool (path=/…) as a disk; hotplugged when the VM runs',
  args: {
    vm: vmArg(),
    size: arg.size('size of a new volume, e.g. 10G', { min: 1024 }),
    pool: arg.pool('storage pool of the new volume (default: the host’s default pool)'),
    path: arg.path('an existing image inside one of the host’s storage pools (or listed paths)'),
    bus: arg.choice(DISK_BUSES, 'disk bus (default: the VM’s stored or OS-derived bus)'),
    host: hostArg(),
  },
  constraints: [exactlyOne('size', 'path')],
  mutates: true,
  examples: [
    { input: 'vm disk add test size=1G', reply: 'added disk vdb (1G, virtio' },
    {
      input: 'vm disk add test path=/etc/shadow',
      reply: '/etc/shadow is not inside a storage pool of host test',
    },
    { input: 'vm disk add test', reply: 'give exactly one of size=, path=' },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { size, path } = args;
    const state = await domainState(hv, vm);
    const v = await views(hv, vm, state);
    const disks = allDisks(v);
    const bus = chooseDiskBus(v.config, args.bus);
    checkBus(vm, bus.value, state.running, disks, 'disk');
    const target = nextTarget(
      bus.value,
      disks.map((d) => d.target),
    );
    if (!target) throw new CommandError(`no free ${bus.value} target left on ${vm}`);
    let source = path;
    let created: { pool: string; volume: string } | undefined;
    let format = path?.endsWith('.qcow2') ? 'qcow2' : 'raw';
    if (size !== undefined) {
      const pool = await resolvePool(hv, args.pool);
      // The pool must have room: a 100T disk in a pool with 77G free is refused, not created.
      const tooBig = checkVolumeSize(await poolSpace(hv, pool), size);
      if (tooBig !== undefined) throw new CommandError(tooBig);
      const volume = `${vm}-${target}.qcow2`;
      if (await hv.volumeExists(pool, volume)) {
        throw new CommandError(
          `volume ${volume} already exists in pool ${pool}: remove it or attach it with path=`,
        );
      }
      source = await hv.createVolume(pool, volume, size, 'qcow2');
      created = { pool, volume };
      format = 'qcow2';
    }
    const device = diskElement({
      path: source!,
      target,
      bus: bus.value,
      format,
      type: source!.startsWith('/dev/') ? 'block' : 'file',
    });
    try {
      const applied = await applyDevice(hv, vm, state, 'attach', device, configEdits.attach(device), () =>
        hasDisk(hv, vm, target, state.persistent),
      );
      const what = created
        ? `${formatKiB(size!)}, ${bus.value}, pool ${created.pool}`
        : `${bus.value}, ${source}`;
      return {
        reply: `added disk ${target} (${what}) to ${vm}, ${appliedNote(applied)}`,
        detail: `Attach storage device '${target}' (${created ? `new volume ${created.pool}/${created.volume}` : source}, ${bus.value}: ${bus.reason}) to guest '${vm}'`,
        ...settlesOf(applied),
      };
    } catch (error) {
      // Do not leave a new, unused volume behind.
      if (created) await hv.deleteVolume(created.pool, created.volume).catch(() => undefined);
      throw error;
    }
  },
});

const diskRemove = defineVmCommand({
  path: ['vm', 'disk', 'remove'],
  summary: 'remove a disk by target (vdb); its volume is kept unless delete=yes',
  args: {
    vm: vmArg(),
    target: arg.name('the disk’s target, e.g. vdb').positional().required(),
    delete: arg.bool('also delete the volume (default: keep it)'),
    host: hostArg(),
  },
  destructive: true,
  examples: [{ input: 'vm disk remove test vda', reply: 'is destructive' }],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { target } = args;
    let state = await domainState(hv, vm);
    const v = await views(hv, vm, state);
    let disk = state.running ? v.live.disks.find((d) => d.target === target) : undefined;
    if (!disk) {
      disk = v.config.disks.find((d) => d.target === target);
      if (!disk) throw new CommandError(`${vm} has no disk ${target} (see 'vm disk list ${vm}')`);
      if (state.running) state = { running: false, persistent: true };
    }
    if (state.running && !HOTPLUG_BUSES.has(disk.bus)) {
      throw new CommandError(
        `${disk.bus.toUpperCase()} disks cannot be unplugged from a running VM: shut ${vm} down first`,
      );
    }
    const applied = await applyDevice(
      hv,
      vm,
      state,
      'detach',
      disk.element,
      configEdits.detach(matchTarget(target)),
      async () => !(await hasDisk(hv, vm, target, state.persistent)),
    );
    const released = applied.state !== 'in-progress';
    let volumeNote = disk.source ? `, kept ${disk.source}` : '';
    if (args.delete === true && disk.source) {
      volumeNote = await deleteVolume(hv, vm, disk.source, released && !applied.liveRefused);
    }
    return {
      reply: `removed disk ${target} from ${vm}, ${appliedNote(applied)}${volumeNote}`,
      detail: `Detach storage device '${target}' from guest '${vm}'${volumeNote}`,
      ...settlesOf(applied),
    };
  },
});

/**
 * Deletes a removed disk's volume when nothing uses it any more: not while the guest still holds
 * it, not while another VM has it as a disk. The disk is removed either way, so a volume that
 * cannot be deleted is said in the reply, never turned into a failure of the removal.
 */
async function deleteVolume(hv: Hypervisor, vm: string, path: string, released: boolean): Promise<string> {
  if (!released) return `, kept ${path} (the guest still holds it: delete it once it is released)`;
  const shared = checkVolumeDelete(path, await volumeUsers(hv, { path }), vm);
  if (shared !== undefined) return `, ${shared}`;
  try {
    await hv.deleteVolumePath(path);
    return `, deleted ${path}`;
  } catch (error) {
    return `, kept ${path} (it could not be deleted: ${plainError(error).message})`;
  }
}

/** Put `iso` into (or, with null, take the medium out of) a CD-ROM drive. */
function setMedia(
  hv: Hypervisor,
  vm: string,
  state: DomainState,
  drive: DiskInfo,
  iso: string | null,
): Promise<Applied> {
  const updated = structuredClone(drive.element);
  updated.children = updated.children.filter(
    (c) => !('name' in c) || !['source', 'alias', 'backingStore'].includes(c.name),
  );
  if (iso !== null) {
    const at = updated.children.findIndex((c) => 'name' in c && c.name === 'target');
    updated.children.splice(Math.max(at, 0), 0, el('source', { file: iso }));
  }
  return applyDevice(
    hv,
    vm,
    state,
    'update',
    updated,
    configEdits.update(matchTarget(drive.target), updated),
  );
}

const cdromInsert = defineVmCommand({
  path: ['vm', 'cdrom', 'insert'],
  summary:
    'insert an ISO image (inside a storage pool or a listed path) into the VM’s CD-ROM drive (a drive is added while the VM is off)',
  args: {
    vm: vmArg(),
    iso: arg.path('path of the ISO image on the host (inside a storage pool or listed path)').required(),
    host: hostArg(),
  },
  mutates: true,
  examples: [
    { input: 'vm cdrom insert test iso=/default-pool/debian.iso', reply: 'cannot be hotplugged' },
    { input: 'vm cdrom insert test iso=/etc/passwd', reply: 'is not inside a storage pool' },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { iso } = args;
    const state = await domainState(hv, vm);
    const v = await views(hv, vm, state);
    const drive = (state.running ? v.live : v.config).disks.find((d) => d.device === 'cdrom');
    if (drive) {
      const applied = await setMedia(hv, vm, state, drive, iso);
      return {
        reply: `inserted ${iso} into ${vm}'s CD-ROM ${drive.target}, ${appliedNote(applied)}`,
        detail: `Update storage device '${drive.target}' of guest '${vm}': insert '${iso}'`,
        ...settlesOf(applied),
      };
    }
    const bus = cdromBus(v.config);
    const disks = allDisks(v);
    checkBus(vm, bus, state.running, disks, 'CD-ROM drive');
    const target = nextTarget(
      bus,
      disks.map((d) => d.target),
    )!;
    const device = diskElement({ path: iso, target, bus, device: 'cdrom', format: 'raw', readonly: true });
    const applied = await applyDevice(hv, vm, state, 'attach', device, configEdits.attach(device));
    return {
      reply: `added CD-ROM ${target} (${bus}) with ${iso} to ${vm}, ${appliedNote(applied)}`,
      detail: `Attach storage device '${target}' (cdrom ${iso}) to guest '${vm}'`,
      ...settlesOf(applied),
    };
  },
});

const cdromEject = defineVmCommand({
  path: ['vm', 'cdrom', 'eject'],
  summary: 'eject the medium from the VM’s CD-ROM drive',
  args: { vm: vmArg(), host: hostArg() },
  mutates: true,
  examples: [{ input: 'vm cdrom eject test', reply: 'test has no CD-ROM drive' }],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    const state = await domainState(hv, vm);
    const v = await views(hv, vm, state);
    const drives = (state.running ? v.live : v.config).disks.filter((d) => d.device === 'cdrom');
    if (drives.length === 0) throw new CommandError(`${vm} has no CD-ROM drive`);
    const drive = drives.find((d) => d.source !== undefined);
    if (!drive) throw new CommandError(`the CD-ROM drive of ${vm} is already empty`);
    const applied = await setMedia(hv, vm, state, drive, null);
    return {
      reply: `ejected ${drive.source} from ${vm}'s CD-ROM ${drive.target}, ${appliedNote(applied)}`,
      detail: `Update storage device '${drive.target}' of guest '${vm}': eject '${drive.source}'`,
      ...settlesOf(applied),
    };
  },
});

export const diskCommands: CommandSpec[] = [diskList, diskAdd, diskRemove];
export const cdromCommands: CommandSpec[] = [cdromInsert, cdromEject];
