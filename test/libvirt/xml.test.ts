import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { nicElement, viewDomain } from '../../src/libvirt/domain.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import {
  embedVirtbotElement,
  newVirtbotElement,
  readVmMetadata,
  withAccess,
} from '../../src/libvirt/metadata.js';
import { buildXml, child, el, insertChild, parseXml, path, textEl } from '../../src/libvirt/xml.js';
import { NO_VIRSH } from './have-virsh.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/libvirt');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const DOCS = ['test-default.xml', 'qemu-kimchi-inactive.xml', 'qemu-kimchi-live.xml'];

/** libvirt writes attributes in single quotes; the builder in double quotes. Same document otherwise. */
function sameDocument(a: string, b: string): void {
  expect(parseXml(a)).toEqual(parseXml(b));
}

describe('round trip of real dumpxml output', () => {
  for (const name of DOCS) {
    test(`${name}: parse → build → parse is the identity`, () => {
      const xml = fixture(name);
      const built = buildXml(parseXml(xml));
      sameDocument(built, xml);
      // Text, comments, entities: the builder's output is libvirt's with only the quote style changed.
      const normalized = xml.trimEnd().replace(/='([^']*)'/g, '="$1"');
      expect(built.replace(/&apos;/g, "'").replace(/&quot;/g, '"')).toBe(
        normalized.replace(/&apos;/g, "'").replace(/&quot;/g, '"'),
      );
    });
  }

  test('namespaced metadata, unknown elements, comments and CDATA survive', () => {
    const xml = `<domain type='test'><name>x</name><metadata><a:b xmlns:a="urn:a" k="v"><a:c>1 &lt; 2</a:c><!-- note --><a:d><![CDATA[<raw>&]]></a:d></a:b></metadata><weird foo="bar"><deeper/></weird></domain>`;
    const built = buildXml(parseXml(xml));
    expect(built).toBe(xml.replace(/'/g, '"'));
  });

  test('any text and attribute value survives a round trip', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (text, attr) => {
          const clean = (s: string) =>
            s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\r]/g, '');
          const root = el('domain', { a: clean(attr) }, [textEl('description', clean(text))]);
          const again = parseXml(buildXml(root));
          expect(again.attrs['a']).toBe(clean(attr));
          expect(child(again, 'description')?.children).toEqual(
            clean(text) === '' ? [] : [{ text: clean(text) }],
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('edits change only what they mean to change', () => {
  test('adding a NIC adds exactly its lines', () => {
    const xml = fixture('qemu-kimchi-inactive.xml');
    const root = parseXml(xml);
    insertChild(
      child(root, 'devices')!,
      nicElement({ network: 'default', mac: '52:54:00:00:00:02', model: 'virtio' }),
    );
    const before = buildXml(parseXml(xml)).split('\n');
    const after = buildXml(root).split('\n');
    const added = after.filter((l) => !before.includes(l));
    expect(added).toEqual([
      '    <interface type="network"><mac address="52:54:00:00:00:02"/><source network="default"/><model type="virtio"/></interface>',
    ]);
    expect(after.filter((l) => !added.includes(l))).toEqual(before);
    // …right after the existing interface.
    expect(after.indexOf(added[0]!)).toBe(after.indexOf('    </interface>') + 1);
  });

  test('rewriting <access> keeps the rest of virtbot’s element and every other metadata element', () => {
    const root = parseXml(fixture('qemu-kimchi-inactive.xml'));
    embedVirtbotElement(
      root,
      newVirtbotElement({ distro: 'fedora', version: '20', nicModel: 'virtio', diskBus: 'virtio' }),
    );
    const ours = readVmMetadata(root);
    expect(ours).toMatchObject({
      distro: 'fedora',
      nicModel: 'virtio',
      source: 'virtbot',
      accessSource: 'virtbot',
      users: [],
    });
    const updated = withAccess(path(root, 'metadata', 'virtbot:vm'), ['bob'], ['ops']);
    expect(buildXml(updated)).toBe(
      '<vm><os distro="fedora" version="20"/><devices nicModel="virtio" diskBus="virtio"/><access><user>bob</user><group>ops</group></access></vm>',
    );
    const other = buildXml(path(root, 'metadata')!);
    expect(other).toContain('<other:thing xmlns:other="urn:example:other" level="3">');
    expect(other).toContain('<kimchi:user>alice</kimchi:user>');
  });
});

describe('reading domains', () => {
  test('a Kimchi VM: OS and access from Kimchi metadata, arch from <os><type>', () => {
    const view = viewDomain(parseXml(fixture('qemu-kimchi-live.xml')));
    expect(view).toMatchObject({
      name: 'fixture-web01',
      arch: 'x86_64',
      memoryKiB: 131072,
      vcpus: 1,
      hasAcpi: true,
    });
    expect(view.metadata).toMatchObject({
      distro: 'fedora',
      version: '20',
      users: ['alice'],
      groups: ['admins'],
      source: 'kimchi',
      accessSource: 'kimchi',
    });
    expect(view.nics.map((n) => [n.mac, n.source, n.model, n.target])).toEqual([
      ['52:54:00:aa:bb:01', 'virtbot-e2e', 'virtio', 'vnet47'],
    ]);
    expect(view.disks.map((d) => [d.target, d.device, d.bus, d.readonly])).toEqual([
      ['hdc', 'cdrom', 'ide', true],
    ]);
  });

  test('an old-style Kimchi VM with separate <kimchi:os> and <kimchi:access> elements', () => {
    const root = parseXml(`<domain type='kvm'><name>old</name><metadata>
      <kimchi:os xmlns:kimchi="https://github.com/kimchi-project/kimchi" distro="ubuntu" version="12.04"/>
      <kimchi:access xmlns:kimchi="https://github.com/kimchi-project/kimchi"><kimchi:auth type="pam"><kimchi:user>u1</kimchi:user></kimchi:auth></kimchi:access>
    </metadata><memory unit='GiB'>1</memory><os><type arch='ppc64'>hvm</type></os></domain>`);
    const view = viewDomain(root);
    expect(view.memoryKiB).toBe(1024 * 1024);
    expect(view.arch).toBe('ppc64');
    expect(view.metadata).toMatchObject({ distro: 'ubuntu', version: '12.04', users: ['u1'] });
  });

  test('an element in another namespace with the same prefix is not virtbot’s', () => {
    const root = parseXml(
      `<domain><name>x</name><metadata><virtbot:vm xmlns:virtbot="urn:not-us"><virtbot:devices nicModel="e1000"/></virtbot:vm></metadata></domain>`,
    );
    expect(readVmMetadata(root).nicModel).toBeUndefined();
  });
});

describe.skipIf(NO_VIRSH)('libvirt accepts what virtbot builds', () => {
  const hosts = new HostRegistry({ hosts: [{ name: 'test', uri: 'test:///default' }] });
  afterAll(() => hosts.close());

  test('define(build(parse(dumpxml))) gives back the same dumpxml (test driver)', async () => {
    const hv = hosts.get();
    const original = await hv.dumpXml('test', { inactive: true });
    await hv.define(parseXml(original));
    expect(await hv.dumpXml('test', { inactive: true })).toBe(original);
  });

  test('virtbot’s metadata element as libvirt stores it is read back', async () => {
    const hv = hosts.get();
    const root = parseXml(await hv.dumpXml('test', { inactive: true }));
    embedVirtbotElement(
      root,
      newVirtbotElement({
        distro: 'debian',
        version: '12',
        nicModel: 'virtio',
        diskBus: 'virtio',
        users: ['a'],
      }),
    );
    await hv.define(root);
    const back = await hv.domain('test', { inactive: true });
    expect(back.metadata).toMatchObject({
      distro: 'debian',
      version: '12',
      nicModel: 'virtio',
      users: ['a'],
      source: 'virtbot',
    });
    const element = await hv.virtbotMetadata('test');
    expect(hv.readMetadataElement(element)).toMatchObject({ distro: 'debian', users: ['a'] });
  });
});
