/**
 * A read view of libvirt domain XML (what commands need to show and decide), plus the
 * builders for the device elements virtbot adds. Edits are made on the XmlElement tree so
 * that everything virtbot does not understand is kept as it was.
 */
import { readKimchi } from './kimchi.js';
import { type MetadataMode, readVmMetadata, type VmMetadata } from './metadata.js';
import { child, el, elements, path, textOf, type XmlElement } from './xml.js';

export interface NicInfo {
  type: string;
  /** Network name (type=network) or bridge name (type=bridge). */
  source: string;
  mac: string;
  model: string | undefined;
  target: string | undefined;
  element: XmlElement;
}

export interface DiskInfo {
  /** disk, cdrom, floppy, lun. */
  device: string;
  type: string;
  /** File path, block device, or pool/volume. */
  source: string | undefined;
  pool: string | undefined;
  volume: string | undefined;
  target: string;
  bus: string;
  readonly: boolean;
  element: XmlElement;
}

export interface DomainView {
  name: string;
  uuid: string | undefined;
  type: string | undefined;
  /** The guest's arch as virtbot reads it (ppc64le for a Kimchi VM written as ppc64 on a ppc64le host). */
  arch: string;
  /** `<os><type arch>` as written. */
  archAsWritten: string;
  machine: string | undefined;
  /** Maximum memory (KiB). */
  memoryKiB: number;
  /** Current (balloon) memory (KiB). */
  currentMemoryKiB: number;
  /** Maximum vCPUs. */
  maxVcpus: number;
  /** Current vCPUs. */
  vcpus: number;
  nics: NicInfo[];
  disks: DiskInfo[];
  metadata: VmMetadata;
  hasAcpi: boolean;
  root: XmlElement;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/** A libvirt scaled integer (`<memory unit='MiB'>512</memory>`) in KiB. */
export function scaledKiB(element: XmlElement | undefined, defaultUnit = 'KiB'): number {
  if (!element) return 0;
  const value = Number(textOf(element)?.trim() ?? '0');
  const unit = (element.attrs['unit'] ?? defaultUnit).toLowerCase();
  const factor = UNIT_BYTES[unit] ?? 1024;
  return Math.round((value * factor) / 1024);
}

export interface ViewOptions {
  /** The host option `metadata` (metadata.ts). Default: virtbot's format. */
  metadata?: MetadataMode;
  /** The host's own arch (`virsh nodeinfo`), to read Kimchi's arch='ppc64' on ppc64le hosts. */
  hostArch?: string;
}

/**
 * Kimchi writes `arch='ppc64'` for every guest it makes on a ppc64le host ("due to libvirt
 * compatibility", osinfo.py / vmtemplate.py): such a VM is a ppc64le guest.
 */
export function guestArch(written: string, root: XmlElement, hostArch: string | undefined): string {
  if (written === 'ppc64' && hostArch === 'ppc64le' && readKimchi(root) !== undefined) return 'ppc64le';
  return written;
}

export function viewDomain(root: XmlElement, options: ViewOptions = {}): DomainView {
  const vcpu = child(root, 'vcpu');
  const maxVcpus = Number(textOf(vcpu)?.trim() ?? '1') || 1;
  const current = vcpu?.attrs['current'];
  const devices = child(root, 'devices');
  const memoryKiB = scaledKiB(child(root, 'memory'));
  const currentMemory = child(root, 'currentMemory');
  return {
    name: textOf(child(root, 'name'))?.trim() ?? '',
    uuid: textOf(child(root, 'uuid'))?.trim(),
    type: root.attrs['type'],
    arch: guestArch(path(root, 'os', 'type')?.attrs['arch'] ?? 'x86_64', root, options.hostArch),
    archAsWritten: path(root, 'os', 'type')?.attrs['arch'] ?? 'x86_64',
    machine: path(root, 'os', 'type')?.attrs['machine'],
    memoryKiB,
    currentMemoryKiB: currentMemory ? scaledKiB(currentMemory) : memoryKiB,
    maxVcpus,
    vcpus: current !== undefined ? Number(current) : maxVcpus,
    nics: devices ? elements(devices, 'interface').map(nicInfo) : [],
    disks: devices ? elements(devices, 'disk').map(diskInfo) : [],
    metadata: readVmMetadata(root, options.metadata !== undefined ? { mode: options.metadata } : {}),
    hasAcpi: path(root, 'features', 'acpi') !== undefined,
    root,
  };
}

function nicInfo(element: XmlElement): NicInfo {
  const source = child(element, 'source');
  const type = element.attrs['type'] ?? 'network';
  return {
    type,
    source: source?.attrs['network'] ?? source?.attrs['bridge'] ?? source?.attrs['dev'] ?? '',
    mac: (child(element, 'mac')?.attrs['address'] ?? '').toLowerCase(),
    model: child(element, 'model')?.attrs['type'],
    target: child(element, 'target')?.attrs['dev'],
    element,
  };
}

function diskInfo(element: XmlElement): DiskInfo {
  const source = child(element, 'source');
  const target = child(element, 'target');
  return {
    device: element.attrs['device'] ?? 'disk',
    type: element.attrs['type'] ?? 'file',
    source: source?.attrs['file'] ?? source?.attrs['dev'] ?? source?.attrs['name'],
    pool: source?.attrs['pool'],
    volume: source?.attrs['volume'],
    target: target?.attrs['dev'] ?? '',
    bus: target?.attrs['bus'] ?? '',
    readonly: child(element, 'readonly') !== undefined,
    element,
  };
}

export function describeDisk(disk: DiskInfo): string {
  const source = disk.source ?? (disk.pool && disk.volume ? `${disk.pool}/${disk.volume}` : 'empty');
  return `${disk.target} ${disk.device} bus=${disk.bus} ${source}`;
}

export function describeNic(nic: NicInfo): string {
  return `${nic.mac} ${nic.type}=${nic.source} model=${nic.model ?? 'default'}${nic.target ? ` dev=${nic.target}` : ''}`;
}

// --------------------------------------------------------------- device builders

export function nicElement(options: {
  network?: string;
  bridge?: string;
  mac: string;
  model?: string | undefined;
}): XmlElement {
  const children: XmlElement[] = [el('mac', { address: options.mac })];
  if (options.bridge !== undefined) {
    children.push(el('source', { bridge: options.bridge }));
  } else {
    children.push(el('source', { network: options.network ?? 'default' }));
  }
  if (options.model) children.push(el('model', { type: options.model }));
  return el('interface', { type: options.bridge !== undefined ? 'bridge' : 'network' }, children);
}

export function diskElement(options: {
  path: string;
  target: string;
  bus: string;
  device?: 'disk' | 'cdrom';
  format?: string;
  readonly?: boolean;
  /** 'file' or 'block'. */
  type?: 'file' | 'block';
}): XmlElement {
  const type = options.type ?? 'file';
  const children: XmlElement[] = [];
  if (options.format) children.push(el('driver', { name: 'qemu', type: options.format }));
  children.push(el('source', type === 'block' ? { dev: options.path } : { file: options.path }));
  children.push(el('target', { dev: options.target, bus: options.bus }));
  if (options.readonly) children.push(el('readonly'));
  return el('disk', { type, device: options.device ?? 'disk' }, children);
}

// --------------------------------------------------------------- targets and MACs

const TARGET_PREFIX: Record<string, string> = {
  virtio: 'vd',
  scsi: 'sd',
  sata: 'sd',
  usb: 'sd',
  ide: 'hd',
  xen: 'xvd',
};

export function targetPrefix(bus: string): string {
  return TARGET_PREFIX[bus] ?? 'sd';
}

/** `a`, …, `z`, `aa`, … as libvirt numbers disks. */
function diskLetters(index: number): string {
  let name = '';
  let n = index;
  do {
    name = String.fromCharCode(97 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return name;
}

/** The first free target name for a bus (`vdb` when `vda` is taken). */
export function nextTarget(bus: string, taken: readonly string[], limit = 26 * 27): string | undefined {
  const prefix = targetPrefix(bus);
  for (let i = 0; i < limit; i++) {
    const name = prefix + diskLetters(i);
    if (!taken.includes(name)) return name;
  }
  return undefined;
}

/** A random locally administered MAC in QEMU's 52:54:00 range, not in `taken`. */
export function randomMac(taken: readonly string[], random: () => number = Math.random): string {
  for (;;) {
    const tail = [0, 1, 2].map(() =>
      Math.floor(random() * 256)
        .toString(16)
        .padStart(2, '0'),
    );
    const mac = `52:54:00:${tail.join(':')}`;
    if (!taken.includes(mac)) return mac;
  }
}
