/**
 * Kimchi's metadata, read and written in the format Kimchi itself uses (kimchi-project/kimchi,
 * model/utils.py and model/vms.py): one element in Kimchi's namespace, set through libvirt's
 * metadata API with the key `kimchi`, holding Kimchi's nodes:
 *
 *   <kimchi:metadata xmlns:kimchi="https://github.com/kimchi-project/kimchi">
 *     <kimchi:os distro="debian" version="12"/>
 *     <kimchi:access>
 *       <kimchi:auth type="pam">
 *         <kimchi:user>alice</kimchi:user>
 *         <kimchi:group>ops</kimchi:group>
 *       </kimchi:auth>
 *     </kimchi:access>
 *   </kimchi:metadata>
 *
 * Kimchi reads the users and groups of `<auth>` whose type is its authentication method (PAM by
 * default; host accounts are PAM accounts) and, for PAM, the older form without `<auth>`
 * (`<access><user>…`). Other children (`<name>` of a non-ASCII VM name, LDAP `<auth>`) are kept
 * as they are. Older Kimchi wrote `<kimchi:os>` and `<kimchi:access>` as separate elements;
 * they are read, and the first write replaces them with the one element (libvirt's metadata API
 * replaces every element of the namespace).
 */
import {
  bare,
  child,
  el,
  elements,
  embedElement,
  findInNamespace,
  isElement,
  localName,
  namespaceOf,
  textEl,
  textOf,
  type XmlElement,
} from './xml.js';

export const KIMCHI_NS = 'https://github.com/kimchi-project/kimchi';
export const KIMCHI_KEY = 'kimchi';
/** The authentication method whose access list virtbot reads and writes (host accounts). */
export const KIMCHI_AUTH = 'pam';

export interface KimchiValues {
  distro?: string;
  version?: string;
  /** Undefined when Kimchi has no access list for this VM. */
  users?: string[];
  groups?: string[];
}

function names(node: XmlElement, name: string): string[] {
  return elements(node)
    .filter((c) => localName(c.name) === name)
    .map((c) => textOf(c)?.trim() ?? '')
    .filter((v) => v !== '');
}

/** Users and groups of a Kimchi `<access>` as Kimchi reads them for `auth` (PAM: also the old form). */
export function kimchiAccess(access: XmlElement, auth = KIMCHI_AUTH): { users: string[]; groups: string[] } {
  const auths = elements(access).filter((c) => localName(c.name) === 'auth');
  if (auths.length > 0) {
    const mine = auths.filter((a) => a.attrs['type'] === auth);
    return { users: mine.flatMap((a) => names(a, 'user')), groups: mine.flatMap((a) => names(a, 'group')) };
  }
  if (auth !== 'pam') return { users: [], groups: [] };
  return { users: names(access, 'user'), groups: names(access, 'group') };
}

/** Kimchi's element of a domain (the current `<kimchi:metadata>` wrapper), if it has one. */
export function kimchiWrapper(domain: XmlElement): XmlElement | undefined {
  const metadata = child(domain, 'metadata');
  if (!metadata) return undefined;
  return elements(metadata).find(
    (e) => localName(e.name) === 'metadata' && namespaceOf(e, [metadata]) === KIMCHI_NS,
  );
}

/** What Kimchi knows of a domain, or undefined when it has no Kimchi metadata at all. */
export function readKimchi(domain: XmlElement): KimchiValues | undefined {
  const metadata = child(domain, 'metadata');
  if (!metadata) return undefined;
  const os = findInNamespace(metadata, KIMCHI_NS, 'os')[0];
  const access = findInNamespace(metadata, KIMCHI_NS, 'access')[0];
  if (!os && !access && !kimchiWrapper(domain)) return undefined;
  const out: KimchiValues = {};
  if (os?.attrs['distro'] !== undefined) out.distro = os.attrs['distro'];
  if (os?.attrs['version'] !== undefined) out.version = os.attrs['version'];
  if (access) Object.assign(out, kimchiAccess(access));
  return out;
}

/**
 * Kimchi's element (bare, as `virsh metadata --set` takes it) with the OS and/or the PAM access
 * list replaced and everything else kept. `domain` is the domain as read (its current element,
 * or the older separate elements, are the starting point).
 */
export function kimchiElementWith(
  domain: XmlElement,
  values: { distro?: string; version?: string; users?: readonly string[]; groups?: readonly string[] },
  auth = KIMCHI_AUTH,
): XmlElement {
  const wrapper = kimchiWrapper(domain);
  let base: XmlElement;
  if (wrapper) base = bare(wrapper);
  else {
    base = el('metadata');
    const metadata = child(domain, 'metadata');
    for (const name of ['os', 'access', 'name']) {
      const old = metadata && findInNamespace(metadata, KIMCHI_NS, name)[0];
      if (old) base.children.push(bare(old));
    }
  }
  const replace = (name: string, node: XmlElement) => {
    const at = base.children.findIndex((c) => isElement(c) && c.name === name);
    if (at >= 0) base.children[at] = node;
    else base.children.push(node);
  };
  if (values.distro !== undefined) {
    replace('os', el('os', { distro: values.distro, version: values.version }));
  }
  if (values.users !== undefined || values.groups !== undefined) {
    const access = (base.children.find((c): c is XmlElement => isElement(c) && c.name === 'access') ??
      el('access')) as XmlElement;
    const current = kimchiAccess(access, auth);
    const entries = [
      ...(values.users ?? current.users).map((u) => textEl('user', u)),
      ...(values.groups ?? current.groups).map((g) => textEl('group', g)),
    ];
    // The old form (users straight under <access>) is read only without <auth>: fold it in.
    const kept = access.children.filter((c) => isElement(c) && c.name === 'auth' && c.attrs['type'] !== auth);
    replace('access', el('access', {}, [...kept, el('auth', { type: auth }, entries)]));
  }
  return base;
}

/** Put Kimchi's element (bare, from `kimchiElementWith`) into a domain's XML, as libvirt stores it. */
export function embedKimchiElement(domain: XmlElement, element: XmlElement): void {
  embedElement(domain, element, KIMCHI_KEY, KIMCHI_NS, kimchiWrapper(domain));
}
