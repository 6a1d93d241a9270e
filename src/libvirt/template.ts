/**
 * Domain XML for a new VM made from a config template. The guest OS of the template decides
 * the devices (os-defaults.ts), and virtbot stores that OS and those choices in its metadata
 * element so that devices added later match.
 */
import type { TemplateConfig } from '../config/sections/hosts.js';
import { parseSize } from '../grammar/types.js';
import { diskElement, nicElement, targetPrefix } from './domain.js';
import { embedKimchiElement, kimchiElementWith } from './kimchi.js';
import { embedVirtbotElement, newVirtbotElement } from './metadata.js';
import { type DeviceDefaults, deviceDefaults } from './os-defaults.js';
import { buildXml, el, elements, parseXml, textEl, textOf, type XmlElement } from './xml.js';

export interface TemplateSizes {
  memoryKiB: number;
  diskKiB: number;
}

export function templateSizes(template: TemplateConfig): TemplateSizes {
  return { memoryKiB: parseSize(template.memory), diskKiB: parseSize(template.disk) };
}

export function templateDefaults(template: TemplateConfig): DeviceDefaults {
  return deviceDefaults(template.arch, template.distro, template.version);
}

/**
 * The domain type for an arch from `virsh capabilities`: kvm when the host has it, else qemu
 * (TCG), else whatever the driver offers (libvirt's test driver: 'test').
 */
export function domainTypeFor(capabilities: string, arch: string): string {
  const caps = parseXml(capabilities);
  const types: string[] = [];
  for (const guest of elements(caps, 'guest')) {
    if (textOf(elements(guest, 'os_type')[0])?.trim() !== 'hvm') continue;
    for (const a of elements(guest, 'arch')) {
      const forArch = a.attrs['name'] === arch;
      for (const d of elements(a, 'domain')) {
        const type = d.attrs['type'];
        if (type) types.push(forArch ? type : `other:${type}`);
      }
    }
  }
  for (const wanted of ['kvm', 'qemu']) if (types.includes(wanted)) return wanted;
  const any = types.find((t) => !t.startsWith('other:')) ?? types[0]?.replace(/^other:/, '');
  return any ?? 'qemu';
}

export interface NewDomain {
  name: string;
  template: TemplateConfig;
  domainType: string;
  diskPath: string;
  diskFormat: string;
  macs: string[];
  /**
   * Whose format holds the OS and access list (the host's `metadata` option; `kimchi`: Kimchi's
   * element, so that Kimchi reads the VM's distro and users). Default: virtbot's.
   */
  metadataFormat?: 'virtbot' | 'kimchi';
}

/** Build the domain XML (as a tree and as text). */
export function buildDomain(options: NewDomain): { root: XmlElement; xml: string; defaults: DeviceDefaults } {
  const { template } = options;
  const sizes = templateSizes(template);
  const defaults = templateDefaults(template);
  const domain = el('domain', { type: options.domainType }, [
    textEl('name', options.name),
    textEl('memory', String(sizes.memoryKiB), { unit: 'KiB' }),
    textEl('currentMemory', String(sizes.memoryKiB), { unit: 'KiB' }),
    textEl('vcpu', String(template.vcpus), { placement: 'static' }),
    el('os', {}, [
      textEl('type', 'hvm', {
        arch: template.arch,
        machine: /^(x86_64|i686)$/.test(template.arch) ? 'pc' : undefined,
      }),
      el('boot', { dev: 'hd' }),
      el('boot', { dev: 'cdrom' }),
    ]),
    // ACPI is needed for PCI hotplug of NICs and disks.
    el('features', {}, [el('acpi'), ...(/^(x86_64|i686)$/.test(template.arch) ? [el('apic')] : [])]),
    el('clock', { offset: 'utc' }),
    textEl('on_poweroff', 'destroy'),
    textEl('on_reboot', 'restart'),
    textEl('on_crash', 'destroy'),
    el('devices', {}, [
      diskElement({
        path: options.diskPath,
        target: `${targetPrefix(defaults.diskBus)}a`,
        bus: defaults.diskBus,
        format: options.diskFormat,
      }),
      ...template.networks.map((network, i) =>
        nicElement({ network, mac: options.macs[i]!, model: defaults.nicModel }),
      ),
      el('serial', { type: 'pty' }),
      el('console', { type: 'pty' }),
    ]),
  ]);
  const ours = newVirtbotElement({
    distro: template.distro,
    version: template.version,
    nicModel: defaults.nicModel,
    diskBus: defaults.diskBus,
  });
  if (options.metadataFormat === 'kimchi') {
    // Kimchi's element holds the OS and the (empty) access list; virtbot's only the devices.
    ours.children = ours.children.filter((c) => !('name' in c) || c.name === 'devices');
    embedVirtbotElement(domain, ours);
    embedKimchiElement(
      domain,
      kimchiElementWith(domain, {
        distro: template.distro,
        version: template.version,
        users: [],
        groups: [],
      }),
    );
  } else embedVirtbotElement(domain, ours);
  return { root: domain, xml: buildXml(domain), defaults };
}
