/**
 * Kimchi mode: Kimchi's metadata read and written in Kimchi's own format (fixtures are XML as
 * Kimchi's code writes it, serialized by libvirt), so that virtbot and Kimchi see the same OS
 * and the same access list; ppc64le guests that Kimchi wrote as arch='ppc64' read as ppc64le.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { TemplateSchema } from '../../src/config/sections/hosts.js';
import { viewDomain } from '../../src/libvirt/domain.js';
import { kimchiElementWith, readKimchi } from '../../src/libvirt/kimchi.js';
import { readVmMetadata } from '../../src/libvirt/metadata.js';
import { buildDomain } from '../../src/libvirt/template.js';
import { buildXml, parseXml } from '../../src/libvirt/xml.js';

const fixture = (name: string) =>
  parseXml(readFileSync(join(import.meta.dirname, '../fixtures/libvirt', name), 'utf8'));

describe('reading Kimchi metadata', () => {
  test("Kimchi's PAM access list, not its LDAP one", () => {
    expect(readKimchi(fixture('kimchi-ppc64le-inactive.xml'))).toEqual({
      distro: 'ubuntu',
      version: '16.04',
      users: ['alice'],
      groups: ['ops'],
    });
  });

  test('the older form without <auth> (Kimchi reads it for PAM)', () => {
    expect(readKimchi(fixture('kimchi-legacy-access.xml'))).toEqual({
      distro: 'rhel',
      version: '6.4',
      users: ['alice', 'bob'],
      groups: ['admins'],
    });
  });

  test('in kimchi (or auto) mode the OS and access come from Kimchi; elsewhere as before', () => {
    const root = fixture('kimchi-legacy-access.xml');
    expect(readVmMetadata(root, { mode: 'auto' })).toMatchObject({
      format: 'kimchi',
      distro: 'rhel',
      users: ['alice', 'bob'],
      accessSource: 'kimchi',
    });
    expect(readVmMetadata(fixture('test-default.xml'), { mode: 'auto' }).format).toBeUndefined();
    expect(readVmMetadata(fixture('test-default.xml'), { mode: 'kimchi' }).format).toBe('kimchi');
  });

  test("an old virtbot's copy of the list that drifted: only who is on both has access, and the drift is told", () => {
    const root = fixture('kimchi-legacy-access.xml');
    const metadata = root.children.find((c) => 'name' in c && c.name === 'metadata') as {
      children: unknown[];
    };
    metadata.children.push(
      parseXml(
        '<virtbot:vm xmlns:virtbot="urn:x-virtbot:domain:1"><virtbot:access><virtbot:user>alice</virtbot:user><virtbot:user>dave</virtbot:user><virtbot:group>admins</virtbot:group></virtbot:access></virtbot:vm>',
      ),
    );
    expect(readVmMetadata(root, { mode: 'auto' })).toMatchObject({
      users: ['alice'],
      groups: ['admins'],
      drift: { onlyVirtbot: ['dave'], onlyKimchi: ['bob'] },
    });
  });

  test("a ppc64le guest Kimchi wrote as arch='ppc64' reads as ppc64le on a ppc64le host (and gets its devices)", () => {
    const root = fixture('kimchi-ppc64le-inactive.xml');
    const onLe = viewDomain(root, { metadata: 'auto', hostArch: 'ppc64le' });
    expect(onLe).toMatchObject({ arch: 'ppc64le', archAsWritten: 'ppc64' });
    // On a big-endian host it is what it says; without Kimchi metadata too.
    expect(viewDomain(root, { metadata: 'auto', hostArch: 'ppc64' }).arch).toBe('ppc64');
    const plain = parseXml(buildXml(root).replace(/<metadata>[\s\S]*<\/metadata>/, ''));
    expect(viewDomain(plain, { hostArch: 'ppc64le' }).arch).toBe('ppc64');
  });
});

describe("writing Kimchi's element", () => {
  test('the access list goes into <auth type="pam">; LDAP entries, the OS and other nodes stay', () => {
    const out = kimchiElementWith(fixture('kimchi-ppc64le-inactive.xml'), {
      users: ['alice', 'bob'],
      groups: [],
    });
    expect(buildXml(out)).toBe(
      '<metadata><os distro="ubuntu" version="16.04"/><access><auth type="ldap"><user>carol</user></auth><auth type="pam"><user>alice</user><user>bob</user></auth></access></metadata>',
    );
  });

  test('the older form is folded into <auth type="pam">, the non-ASCII name kept', () => {
    const out = kimchiElementWith(fixture('kimchi-legacy-access.xml'), {
      users: ['bob'],
      groups: ['admins'],
    });
    expect(buildXml(out)).toBe(
      '<metadata><access><auth type="pam"><user>bob</user><group>admins</group></auth></access><os distro="rhel" version="6.4"/><name>wéb-serveur</name></metadata>',
    );
  });

  test('a VM virtbot makes on a Kimchi host carries Kimchi’s OS element, so Kimchi reads distro and users', () => {
    const template = TemplateSchema.parse({ name: 'deb', distro: 'debian', version: '12' });
    const { root } = buildDomain({
      name: 'web01',
      template,
      domainType: 'kvm',
      diskPath: '/var/lib/libvirt/images/web01.qcow2',
      diskFormat: 'qcow2',
      macs: ['52:54:00:00:00:01'],
      metadataFormat: 'kimchi',
    });
    expect(readKimchi(root)).toEqual({ distro: 'debian', version: '12', users: [], groups: [] });
    expect(readVmMetadata(root, { mode: 'auto' })).toMatchObject({
      format: 'kimchi',
      distro: 'debian',
      nicModel: 'virtio',
      diskBus: 'virtio',
    });
  });
});
