/**
 * virtbot's OS table (os-defaults.ts) against Kimchi's osinfo.py, row by row: every arch of
 * Kimchi's SUPPORTED_ARCHS, every distro it knows (and unknown ones, and Windows), versions
 * below, at and above each base. The facts are transcribed in test/fixtures/libvirt/
 * kimchi-osinfo.json; `kimchiLookup` below applies them as osinfo.lookup() does. Every row where
 * virtbot differs must be one of the deliberate differences listed in src/libvirt/README.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compareLooseVersion, deviceDefaults } from '../../src/libvirt/os-defaults.js';

interface Spec {
  disk_bus?: string;
  nic_model?: string;
  cdrom_bus?: string;
}
interface KimchiFacts {
  archs: Record<string, string[]>;
  defaults: { cdrom_bus: string };
  template_specs: Record<string, { old: Spec; modern: Spec }>;
  custom_specs: Record<string, Record<string, Record<string, Spec & { video_model?: string }>>>;
  modern_version_bases: Record<string, Record<string, string>>;
}

const facts = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/libvirt/kimchi-osinfo.json'), 'utf8'),
) as KimchiFacts;

/** osinfo.lookup(distro, version) for a host (= guest) of `family`, reduced to the three devices virtbot sets. */
function kimchiLookup(family: string, distro: string, version: string) {
  const params: Spec = { cdrom_bus: facts.defaults.cdrom_bus };
  const specs = facts.template_specs[family]!;
  const bases = facts.modern_version_bases[family];
  if (family === 's390x') Object.assign(params, specs.old);
  else if (bases?.[distro] !== undefined)
    Object.assign(params, compareLooseVersion(version, bases[distro]!) >= 0 ? specs.modern : specs.old);
  else Object.assign(params, specs.old);
  for (const [from, byArch] of Object.entries(facts.custom_specs[distro] ?? {})) {
    if (compareLooseVersion(version, from) >= 0) {
      const { nic_model, disk_bus, cdrom_bus } = byArch[family] ?? {};
      Object.assign(
        params,
        Object.fromEntries(Object.entries({ nic_model, disk_bus, cdrom_bus }).filter(([, v]) => v)),
      );
    }
  }
  return { nicModel: params.nic_model, diskBus: params.disk_bus, cdromBus: params.cdrom_bus };
}

/** Versions to try for a distro: each family's base, and around them. */
function versions(distro: string): string[] {
  if (distro === 'windows') return ['xp', 'vista', '7', '2008', '2019'];
  const out = new Set(['1', '99']);
  for (const bases of Object.values(facts.modern_version_bases)) {
    const base = bases[distro];
    if (base !== undefined) out.add(base);
  }
  if (distro === 'sles') out.add('11.4').add('11sp2').add('12');
  if (distro === 'ubuntu') out.add('13.10').add('7.04');
  return [...out];
}

const distros = [
  ...new Set(Object.values(facts.modern_version_bases).flatMap((b) => Object.keys(b))),
  'windows',
  'plan9',
];

const rows = Object.entries(facts.archs).flatMap(([family, archs]) =>
  archs.flatMap((arch) =>
    distros.flatMap((distro) => versions(distro).map((version) => ({ family, arch, distro, version }))),
  ),
);

/**
 * The deliberate differences (src/libvirt/README.md): virtbot compares base versions with a
 * number after a letter suffix at the same place, so SLES "11.4" (SP4) is at or above "11sp3";
 * Python 2's LooseVersion puts every number before every word.
 */
function deliberate(row: (typeof rows)[number]): string | undefined {
  if (row.distro === 'sles' && row.version === '11.4' && row.family === 'power')
    return 'SLES 11.4 is 11 SP4: at or above the 11sp3 base';
  return undefined;
}

describe("virtbot's OS table against Kimchi's osinfo.py", () => {
  test(`${rows.length} rows: every row agrees, except the documented deliberate differences`, () => {
    const differ: string[] = [];
    for (const row of rows) {
      const kimchi = kimchiLookup(row.family, row.distro, row.version);
      const ours = deviceDefaults(row.arch, row.distro, row.version);
      const same = JSON.stringify(kimchi) === JSON.stringify(ours);
      const why = deliberate(row);
      if (!same && why === undefined)
        differ.push(
          `${row.arch} ${row.distro} ${row.version}: Kimchi ${JSON.stringify(kimchi)}, virtbot ${JSON.stringify(ours)}`,
        );
      if (same && why !== undefined)
        differ.push(`${row.arch} ${row.distro} ${row.version}: listed as different but agrees`);
    }
    expect(differ).toEqual([]);
    expect(rows.length).toBeGreaterThan(300);
  });

  test('the rows the issue measured: Windows XP gets pcnet; ppc64le old and unknown guests virtio', () => {
    expect(deviceDefaults('x86_64', 'windows', 'xp').nicModel).toBe('pcnet');
    expect(deviceDefaults('ppc64le', 'rhel', '6.4')).toEqual({
      nicModel: 'virtio',
      diskBus: 'virtio',
      cdromBus: 'scsi',
    });
    expect(deviceDefaults('ppc64le')).toEqual({ nicModel: 'virtio', diskBus: 'virtio', cdromBus: 'scsi' });
  });
});
