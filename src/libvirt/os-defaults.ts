/**
 * The guest OS decides a VM's device defaults, per architecture (Kimchi scrum 2014-04-16), row
 * by row as Kimchi's osinfo.py has them (template_specs, modern_version_bases, custom_specs):
 * modern guests get paravirtual devices (virtio), old or unknown guests get emulated ones
 * (e1000 + IDE on x86; spapr-vlan + SCSI on big-endian POWER; little-endian POWER and s390x
 * always virtio). "Modern" means at or above a per-distro base version. Windows XP gets pcnet
 * (Kimchi's custom spec). This module is the one place that table lives; where virtbot
 * deliberately differs from Kimchi, src/libvirt/README.md says how and why.
 */

export interface DeviceDefaults {
  nicModel: string;
  diskBus: string;
  cdromBus: string;
}

/** Kimchi's SUPPORTED_ARCHS families (x86, power = big-endian POWER, ppc64le, s390x), plus arm. */
export type ArchFamily = 'x86' | 'power' | 'ppc64le' | 'arm' | 's390';

export interface ArchDefaults {
  old: DeviceDefaults;
  modern: DeviceDefaults;
  /** Distro (lower case) → first modern version. Distros not listed are never modern. */
  modernBase: Record<string, string>;
}

export const OS_DEFAULTS: Record<ArchFamily, ArchDefaults> = {
  x86: {
    old: { nicModel: 'e1000', diskBus: 'ide', cdromBus: 'ide' },
    modern: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'ide' },
    modernBase: {
      debian: '6.0',
      ubuntu: '7.10',
      fedora: '16',
      rhel: '6.0',
      centos: '5.3',
      opensuse: '10.3',
      sles: '11',
      gentoo: '0',
      arch: '0',
    },
  },
  power: {
    old: { nicModel: 'spapr-vlan', diskBus: 'scsi', cdromBus: 'scsi' },
    modern: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' },
    modernBase: { rhel: '6.5', fedora: '19', ubuntu: '14.04', opensuse: '13.1', sles: '11sp3' },
  },
  // Little-endian POWER: paravirtual devices whatever the guest (spapr-vlan is big-endian only).
  ppc64le: {
    old: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' },
    modern: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' },
    modernBase: { rhel: '6.5', fedora: '19', ubuntu: '14.04', opensuse: '13.1', sles: '11sp3' },
  },
  arm: {
    old: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' },
    modern: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' },
    modernBase: {},
  },
  s390: {
    old: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' },
    modern: { nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' },
    modernBase: {},
  },
};

/** When neither the OS nor the arch tells: the NIC every guest drives. */
export const FALLBACK_NIC_MODEL = 'rtl8139';
export const FALLBACK_DISK_BUS = 'ide';

const ARCH_FAMILY: Record<string, ArchFamily> = {
  x86_64: 'x86',
  i686: 'x86',
  i586: 'x86',
  i486: 'x86',
  i386: 'x86',
  ppc64: 'power',
  ppc: 'power',
  ppc64le: 'ppc64le',
  ppcle: 'ppc64le',
  aarch64: 'arm',
  armv7l: 'arm',
  s390x: 's390',
};

/**
 * Kimchi's custom_specs: from a version on (compared as Python 2's LooseVersion does, numbers
 * before words), one arch family gets different devices. Fedora ≥ 22's qxl video is not here:
 * virtbot adds no video device.
 */
export const CUSTOM_SPECS: readonly {
  distro: string;
  from: string;
  family: ArchFamily;
  set: Partial<DeviceDefaults>;
}[] = [{ distro: 'windows', from: 'xp', family: 'x86', set: { nicModel: 'pcnet' } }];

/** Spellings of distro names found in templates and Kimchi metadata. */
const DISTRO_ALIASES: Record<string, string> = {
  'red hat': 'rhel',
  redhat: 'rhel',
  'red hat enterprise linux': 'rhel',
  rhel: 'rhel',
  suse: 'sles',
  sles: 'sles',
  'opensuse-leap': 'opensuse',
  'open suse': 'opensuse',
  archlinux: 'arch',
};

export function archFamily(arch: string): ArchFamily | undefined {
  return ARCH_FAMILY[arch.toLowerCase()];
}

export function normalizeDistro(distro: string): string {
  const d = distro.trim().toLowerCase();
  return DISTRO_ALIASES[d] ?? d;
}

/** Loose version comparison: '11sp3' > '11', '7.10' > '7.9', '14.04' = '14.4'. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.toLowerCase().match(/\d+|[a-z]+/g) ?? [];
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (nx !== ny) {
      // A number sorts after a letter suffix at the same position ('11.1' > '11sp1').
      return nx ? 1 : -1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/**
 * Python 2's distutils LooseVersion order, which Kimchi's custom_specs use: the version split
 * into numbers and letter runs, compared item by item, a number before any word.
 */
export function compareLooseVersion(a: string, b: string): number {
  const parts = (v: string) =>
    (v.match(/\d+|[a-z]+|[^\d.a-z]+/gi) ?? []).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y);
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return Math.sign(pa.length - pb.length);
}

/** True when the distro/version is at or above the arch's modern base. */
export function isModern(arch: string, distro: string | undefined, version: string | undefined): boolean {
  const family = archFamily(arch);
  if (!family || distro === undefined) return false;
  const base = OS_DEFAULTS[family].modernBase[normalizeDistro(distro)];
  if (base === undefined) return false;
  return compareVersions(version ?? '0', base) >= 0;
}

/**
 * Device defaults for a guest. An unknown OS gets the arch's "old" (emulated) devices; an
 * unknown arch gets rtl8139 and IDE.
 */
export function deviceDefaults(arch: string, distro?: string, version?: string): DeviceDefaults {
  const family = archFamily(arch);
  if (!family)
    return { nicModel: FALLBACK_NIC_MODEL, diskBus: FALLBACK_DISK_BUS, cdromBus: FALLBACK_DISK_BUS };
  const table = OS_DEFAULTS[family];
  const out = { ...(isModern(arch, distro, version) ? table.modern : table.old) };
  if (distro !== undefined) {
    for (const spec of CUSTOM_SPECS) {
      if (
        spec.family === family &&
        normalizeDistro(distro) === spec.distro &&
        compareLooseVersion(version ?? '', spec.from) >= 0
      )
        Object.assign(out, spec.set);
    }
  }
  return out;
}
