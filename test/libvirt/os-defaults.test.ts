import { describe, expect, test } from 'vitest';
import {
  compareLooseVersion,
  compareVersions,
  deviceDefaults,
  isModern,
  OS_DEFAULTS,
} from '../../src/libvirt/os-defaults.js';

describe('the OS decides the device defaults, per arch (Kimchi scrum 2014-04-16)', () => {
  test.each([
    // arch, distro, version, nic, disk, cdrom
    ['x86_64', 'debian', '12', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'debian', '6.0', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'debian', '5.0', 'e1000', 'ide', 'ide'],
    ['x86_64', 'ubuntu', '7.10', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'ubuntu', '7.04', 'e1000', 'ide', 'ide'],
    ['x86_64', 'fedora', '16', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'fedora', '15', 'e1000', 'ide', 'ide'],
    ['x86_64', 'rhel', '6.0', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'rhel', '5.9', 'e1000', 'ide', 'ide'],
    ['x86_64', 'centos', '5.3', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'centos', '5.2', 'e1000', 'ide', 'ide'],
    ['x86_64', 'opensuse', '10.3', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'sles', '11', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'sles', '10', 'e1000', 'ide', 'ide'],
    ['i686', 'Debian', '7', 'virtio', 'virtio', 'ide'],
    ['x86_64', 'windows', '2019', 'e1000', 'ide', 'ide'],
    ['x86_64', 'windows', 'xp', 'pcnet', 'ide', 'ide'],
    ['i686', 'Windows', 'xp', 'pcnet', 'ide', 'ide'],
    ['x86_64', 'windows', '7', 'e1000', 'ide', 'ide'],
    ['x86_64', 'plan9', '4', 'e1000', 'ide', 'ide'],
    ['ppc64', 'rhel', '6.5', 'virtio', 'virtio', 'scsi'],
    ['ppc64', 'rhel', '6.4', 'spapr-vlan', 'scsi', 'scsi'],
    ['ppc64le', 'fedora', '19', 'virtio', 'virtio', 'scsi'],
    ['ppc64', 'fedora', '18', 'spapr-vlan', 'scsi', 'scsi'],
    ['ppc64', 'ubuntu', '14.04', 'virtio', 'virtio', 'scsi'],
    ['ppc64', 'ubuntu', '13.10', 'spapr-vlan', 'scsi', 'scsi'],
    ['ppc64', 'sles', '11sp3', 'virtio', 'virtio', 'scsi'],
    ['ppc64', 'sles', '11sp2', 'spapr-vlan', 'scsi', 'scsi'],
    ['ppc64', 'sles', '11', 'spapr-vlan', 'scsi', 'scsi'],
    ['ppc64', 'debian', '12', 'spapr-vlan', 'scsi', 'scsi'],
    ['ppc64le', 'debian', '12', 'virtio', 'virtio', 'scsi'],
    ['ppc64le', 'rhel', '6.4', 'virtio', 'virtio', 'scsi'],
    ['ppc64le', undefined, undefined, 'virtio', 'virtio', 'scsi'],
    ['s390x', 'rhel', '5', 'virtio', 'virtio', 'scsi'],
    ['mips', 'debian', '12', 'rtl8139', 'ide', 'ide'],
  ])('%s %s %s → NIC %s, disk %s, cdrom %s', (arch, distro, version, nicModel, diskBus, cdromBus) => {
    expect(deviceDefaults(arch, distro as string | undefined, version as string | undefined)).toEqual({
      nicModel,
      diskBus,
      cdromBus,
    });
  });

  test('an unknown guest gets the arch’s emulated devices; an unknown arch rtl8139', () => {
    expect(deviceDefaults('x86_64').nicModel).toBe('e1000');
    expect(deviceDefaults('ppc64').nicModel).toBe('spapr-vlan');
    expect(deviceDefaults('sparc').nicModel).toBe('rtl8139');
  });

  test('the meeting’s base versions are in the table', () => {
    expect(OS_DEFAULTS.x86.modernBase).toMatchObject({
      debian: '6.0',
      ubuntu: '7.10',
      fedora: '16',
      rhel: '6.0',
      centos: '5.3',
      opensuse: '10.3',
      sles: '11',
    });
    expect(OS_DEFAULTS.power.modernBase).toMatchObject({
      rhel: '6.5',
      fedora: '19',
      ubuntu: '14.04',
      sles: '11sp3',
    });
    expect(isModern('x86_64', 'Red Hat', '7')).toBe(true);
  });

  test('loose version order', () => {
    expect(compareVersions('7.10', '7.9')).toBe(1);
    expect(compareVersions('14.04', '14.4')).toBe(0);
    expect(compareVersions('11sp3', '11')).toBe(1);
    expect(compareVersions('11sp3', '11sp10')).toBe(-1);
    expect(compareVersions('11.1', '11sp3')).toBe(1);
    expect(compareVersions('6', '6.0')).toBe(-1);
  });

  test("Kimchi's LooseVersion order (custom specs): numbers before words", () => {
    expect(compareLooseVersion('xp', 'xp')).toBe(0);
    expect(compareLooseVersion('2019', 'xp')).toBe(-1);
    expect(compareLooseVersion('vista', 'xp')).toBe(-1);
    expect(compareLooseVersion('xp64', 'xp')).toBe(1);
    expect(compareLooseVersion('11.1', '11sp3')).toBe(-1);
    expect(compareLooseVersion('7.10', '7.9')).toBe(1);
  });
});
