/**
 * virtbot's own element in the domain `<metadata>`, and Kimchi's, read for VMs Kimchi made.
 *
 *   <virtbot:vm xmlns:virtbot="urn:x-virtbot:domain:1">
 *     <virtbot:os distro="debian" version="12"/>
 *     <virtbot:devices nicModel="virtio" diskBus="virtio"/>
 *     <virtbot:access>
 *       <virtbot:user>alice</virtbot:user>
 *       <virtbot:group>ops</virtbot:group>
 *     </virtbot:access>
 *   </virtbot:vm>
 *
 * Whose format holds a VM's OS and access list (the host option `metadata`):
 *  - `kimchi` (and `auto` on a VM that has Kimchi metadata): Kimchi's own element (kimchi.ts),
 *    read and written in Kimchi's format, so that virtbot and Kimchi see the same OS and the same
 *    users and groups. virtbot's element keeps only what Kimchi has no place for (the stored NIC
 *    model and disk bus). A copy of the access list an older virtbot made in its own `<access>`
 *    is read together with Kimchi's: only who is on both lists has access (deny by default),
 *    `drift` says who is on one only; the next write drops the copy.
 *  - `virtbot` (and `auto` on other VMs): virtbot's element; Kimchi's OS and access list are
 *    read only where virtbot's element has none.
 *
 * Elements are written with libvirt's own metadata API (`virsh metadata --set`), which replaces
 * only the element of one namespace, through `Hypervisor.updateMetadata` (metadata-update.ts):
 * locked across virtbot processes, read back and verified.
 */
import { KIMCHI_NS, readKimchi } from './kimchi.js';
import {
  bare,
  buildXml,
  child,
  el,
  elements,
  embedElement,
  isElement,
  localName,
  namespaceOf,
  textEl,
  textOf,
  type XmlElement,
} from './xml.js';

export { KIMCHI_NS };
export const VIRTBOT_NS = 'urn:x-virtbot:domain:1';
export const VIRTBOT_PREFIX = 'virtbot';

/** The host option: whose metadata format holds OS and access (see above). */
export type MetadataMode = 'auto' | 'virtbot' | 'kimchi';

export interface VmMetadata {
  distro?: string;
  version?: string;
  nicModel?: string;
  diskBus?: string;
  users: string[];
  groups: string[];
  /** Where the values were found. */
  source: 'virtbot' | 'kimchi' | 'none';
  /** Where the users and groups were found. */
  accessSource: 'virtbot' | 'kimchi' | 'none';
  /** Whose element virtbot writes this VM's OS and access list to (absent: virtbot's). */
  format?: 'virtbot' | 'kimchi';
  /** Kimchi format, with an old copy of the list in virtbot's `<access>` that differs: who is on one list only. */
  drift?: { onlyVirtbot: string[]; onlyKimchi: string[] };
}

/** Values stored in metadata: plain words only, so the element is always one safe line. */
const VALUE = /^[A-Za-z0-9_.+-]{1,64}$/;

export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataError';
  }
}

function checkValue(what: string, value: string): string {
  if (!VALUE.test(value))
    throw new MetadataError(`${what} ${JSON.stringify(value)} cannot be stored in metadata`);
  return value;
}

function accessOf(access: XmlElement | undefined): { users: string[]; groups: string[] } | undefined {
  if (!access) return undefined;
  const users: string[] = [];
  const groups: string[] = [];
  const walk = (node: XmlElement) => {
    for (const c of elements(node)) {
      const name = localName(c.name);
      const value = textOf(c)?.trim();
      if (name === 'user' && value) users.push(value);
      else if (name === 'group' && value) groups.push(value);
      else walk(c);
    }
  };
  walk(access);
  return { users, groups };
}

/** The virtbot element (namespaced), if the domain has one. */
export function virtbotElement(domain: XmlElement): XmlElement | undefined {
  const metadata = child(domain, 'metadata');
  if (!metadata) return undefined;
  return elements(metadata).find(
    (e) => localName(e.name) === 'vm' && namespaceOf(e, [metadata]) === VIRTBOT_NS,
  );
}

/** Does this VM keep its OS and access list in Kimchi's format, under `mode`? */
export function usesKimchi(domain: XmlElement, mode: MetadataMode = 'virtbot'): boolean {
  return mode === 'kimchi' || (mode === 'auto' && readKimchi(domain) !== undefined);
}

/** Read what virtbot (or Kimchi) stored about a domain. */
export function readVmMetadata(domain: XmlElement, options: { mode?: MetadataMode } = {}): VmMetadata {
  const meta: VmMetadata = { users: [], groups: [], source: 'none', accessSource: 'none' };
  const ours = virtbotElement(domain);
  if (ours) {
    readOurs(ours, meta);
    meta.source = 'virtbot';
  }
  const kimchi = readKimchi(domain);
  if (usesKimchi(domain, options.mode)) {
    meta.format = 'kimchi';
    if (kimchi?.distro !== undefined) {
      meta.distro = kimchi.distro;
      meta.version = kimchi.version;
      if (meta.source === 'none') meta.source = 'kimchi';
    }
    if (kimchi?.users !== undefined) {
      const k = { users: kimchi.users, groups: kimchi.groups ?? [] };
      if (meta.accessSource === 'virtbot') {
        // An older virtbot's copy: only who is on both lists (deny by default).
        const both = (a: string[], b: string[]) => a.filter((x) => b.includes(x));
        const only = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));
        const onlyVirtbot = [...only(meta.users, k.users), ...only(meta.groups, k.groups)];
        const onlyKimchi = [...only(k.users, meta.users), ...only(k.groups, meta.groups)];
        if (onlyVirtbot.length + onlyKimchi.length > 0) meta.drift = { onlyVirtbot, onlyKimchi };
        meta.users = both(meta.users, k.users);
        meta.groups = both(meta.groups, k.groups);
      } else {
        meta.users = k.users;
        meta.groups = k.groups;
      }
      meta.accessSource = 'kimchi';
    }
    return meta;
  }
  if (kimchi && meta.distro === undefined && kimchi.distro !== undefined) {
    meta.distro = kimchi.distro;
    meta.version = kimchi.version;
    if (meta.source === 'none') meta.source = 'kimchi';
  }
  if (meta.accessSource === 'none' && kimchi?.users !== undefined) {
    meta.users = kimchi.users;
    meta.groups = kimchi.groups ?? [];
    meta.accessSource = 'kimchi';
  }
  return meta;
}

/** Read virtbot's own element (prefixed as in dumpxml, or bare as `virsh metadata` prints it). */
export function readOurs(ours: XmlElement, into: VmMetadata): VmMetadata {
  for (const c of elements(ours)) {
    const name = localName(c.name);
    if (name === 'os') {
      if (c.attrs['distro'] !== undefined) into.distro = c.attrs['distro'];
      if (c.attrs['version'] !== undefined) into.version = c.attrs['version'];
    } else if (name === 'devices') {
      if (c.attrs['nicModel'] !== undefined) into.nicModel = c.attrs['nicModel'];
      if (c.attrs['diskBus'] !== undefined) into.diskBus = c.attrs['diskBus'];
    } else if (name === 'access') {
      const access = accessOf(c)!;
      into.users = access.users;
      into.groups = access.groups;
      into.accessSource = 'virtbot';
    }
  }
  return into;
}

export function accessElement(users: readonly string[], groups: readonly string[]): XmlElement {
  return el('access', {}, [
    ...users.map((u) => textEl('user', checkValue('user', u))),
    ...groups.map((g) => textEl('group', checkValue('group', g))),
  ]);
}

/** A new virtbot element for a VM virtbot creates. */
export function newVirtbotElement(values: {
  distro: string;
  version: string;
  nicModel: string;
  diskBus: string;
  users?: readonly string[];
  groups?: readonly string[];
}): XmlElement {
  return el('vm', {}, [
    el('os', { distro: checkValue('distro', values.distro), version: checkValue('version', values.version) }),
    el('devices', {
      nicModel: checkValue('NIC model', values.nicModel),
      diskBus: checkValue('disk bus', values.diskBus),
    }),
    accessElement(values.users ?? [], values.groups ?? []),
  ]);
}

/**
 * The virtbot element with `<access>` replaced and every other child kept. `current` is the
 * element as stored (or undefined when there is none yet).
 */
export function withAccess(
  current: XmlElement | undefined,
  users: readonly string[],
  groups: readonly string[],
): XmlElement {
  const base = current ? bare(current) : el('vm');
  const access = accessElement(users, groups);
  const at = base.children.findIndex((c) => isElement(c) && c.name === 'access');
  if (at >= 0) base.children[at] = access;
  else base.children.push(access);
  return base;
}

/** The same element, stored: with `<devices>` values set (for VMs that had none). */
export function withDevices(current: XmlElement | undefined, nicModel: string, diskBus: string): XmlElement {
  const base = current ? bare(current) : el('vm');
  const devices = el('devices', {
    nicModel: checkValue('NIC model', nicModel),
    diskBus: checkValue('disk bus', diskBus),
  });
  const at = base.children.findIndex((c) => isElement(c) && c.name === 'devices');
  if (at >= 0) base.children[at] = devices;
  else base.children.push(devices);
  return base;
}

/** One line of XML for `virsh metadata --set` (no namespace prefixes: libvirt adds the key's). */
export function metadataLine(element: XmlElement): string {
  return buildXml(bare(element));
}

/** Put a prefixed copy of the virtbot element into a domain's `<metadata>` (for define). */
export function embedVirtbotElement(domain: XmlElement, element: XmlElement): void {
  embedElement(domain, element, VIRTBOT_PREFIX, VIRTBOT_NS, virtbotElement(domain));
}
