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
 * For a VM Kimchi made, Kimchi's OS and access list are read when virtbot's element lacks them;
 * virtbot never writes Kimchi's element: the first change of users or groups copies the list
 * into virtbot's `<access>`, which is read from then on.
 *
 * virtbot writes its element with libvirt's own metadata API (`virsh metadata --set`), which
 * replaces only the element of virtbot's namespace; when only the users and groups change,
 * only `<access>` inside it is rebuilt, every other child is kept as read.
 */
import {
  buildXml,
  child,
  el,
  elements,
  isElement,
  localName,
  namespaceOf,
  textEl,
  textOf,
  type XmlElement,
  type XmlNode,
} from './xml.js';

export const VIRTBOT_NS = 'urn:x-virtbot:domain:1';
export const VIRTBOT_PREFIX = 'virtbot';
export const KIMCHI_NS = 'https://github.com/kimchi-project/kimchi';

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

/** Every element below `<metadata>` whose namespace is `ns`, with local name `name`, at any depth. */
function findNs(metadata: XmlElement, ns: string, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (node: XmlElement, scope: XmlElement[]) => {
    for (const c of node.children) {
      if (!isElement(c)) continue;
      if (localName(c.name) === name && namespaceOf(c, scope) === ns) found.push(c);
      walk(c, [...scope, c]);
    }
  };
  walk(metadata, [metadata]);
  return found;
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

/** Read what virtbot (or Kimchi) stored about a domain. */
export function readVmMetadata(domain: XmlElement): VmMetadata {
  const meta: VmMetadata = { users: [], groups: [], source: 'none', accessSource: 'none' };
  const metadata = child(domain, 'metadata');
  if (!metadata) return meta;
  const ours = virtbotElement(domain);
  if (ours) {
    readOurs(ours, meta);
    meta.source = 'virtbot';
  }
  const kimchiOs = findNs(metadata, KIMCHI_NS, 'os')[0];
  if (kimchiOs && meta.distro === undefined) {
    meta.distro = kimchiOs.attrs['distro'];
    meta.version = kimchiOs.attrs['version'];
    if (meta.source === 'none') meta.source = 'kimchi';
  }
  if (meta.accessSource === 'none') {
    const kimchiAccess = accessOf(findNs(metadata, KIMCHI_NS, 'access')[0]);
    if (kimchiAccess) {
      meta.users = kimchiAccess.users;
      meta.groups = kimchiAccess.groups;
      meta.accessSource = 'kimchi';
    }
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

/** Strip namespace prefixes and whitespace-only text: the form `virsh metadata --set` takes. */
function bare(node: XmlElement): XmlElement {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(node.attrs)) if (k !== 'xmlns' && !k.startsWith('xmlns:')) attrs[k] = v;
  const children: XmlNode[] = [];
  for (const c of node.children) {
    if (isElement(c)) children.push(bare(c));
    else if ('text' in c && c.text.trim() !== '') children.push({ text: c.text.trim() });
  }
  return { name: localName(node.name), attrs, children };
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
  const prefixed = (node: XmlElement): XmlElement => ({
    name: `${VIRTBOT_PREFIX}:${localName(node.name)}`,
    attrs: { ...node.attrs },
    children: node.children.map((c) => (isElement(c) ? prefixed(c) : c)),
  });
  const ours = prefixed(bare(element));
  ours.attrs = { [`xmlns:${VIRTBOT_PREFIX}`]: VIRTBOT_NS, ...ours.attrs };
  let metadata = child(domain, 'metadata');
  if (!metadata) {
    metadata = el('metadata');
    // libvirt puts <metadata> after <name>, <uuid>, <title>, <description>.
    const after = ['description', 'title', 'uuid', 'name'];
    let at = -1;
    for (const name of after) {
      at = domain.children.findIndex((c) => isElement(c) && c.name === name);
      if (at >= 0) break;
    }
    domain.children.splice(at + 1, 0, metadata);
  }
  const existing = virtbotElement(domain);
  if (existing) metadata.children[metadata.children.indexOf(existing)] = ours;
  else metadata.children.push(ours);
}
