/**
 * A small, order-preserving XML tree on top of fast-xml-parser (`preserveOrder: true`).
 *
 * Parsing keeps every element, attribute (in order), text (whitespace included), comment and
 * CDATA section, including unknown elements and namespaced metadata. Serializing the untouched
 * tree gives the same document (up to attribute quote style), so an edit changes only what it
 * means to change.
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

export interface XmlElement {
  name: string;
  /** Attributes in document order (JS objects keep string-key insertion order). */
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | { text: string } | { comment: string } | { cdata: string };

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

const OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  textNodeName: '#text',
  processEntities: true,
  htmlEntities: false,
  allowBooleanAttributes: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

const parser = new XMLParser(OPTIONS);
const builder = new XMLBuilder({ ...OPTIONS, suppressEmptyNode: true, format: false });

type Raw = Record<string, unknown>;

function fromRaw(raw: Raw[]): XmlNode[] {
  const nodes: XmlNode[] = [];
  for (const item of raw) {
    const keys = Object.keys(item).filter((k) => k !== ':@');
    const key = keys[0];
    if (key === undefined) continue;
    const value = item[key];
    if (key === '#text') nodes.push({ text: String(value) });
    else if (key === '#comment') nodes.push({ comment: textOfRaw(value as Raw[]) });
    else if (key === '#cdata') nodes.push({ cdata: textOfRaw(value as Raw[]) });
    else {
      const attrs: Record<string, string> = {};
      const rawAttrs = (item[':@'] ?? {}) as Record<string, unknown>;
      for (const [name, v] of Object.entries(rawAttrs)) attrs[name] = String(v);
      nodes.push({ name: key, attrs, children: fromRaw((value ?? []) as Raw[]) });
    }
  }
  return nodes;
}

function textOfRaw(raw: Raw[]): string {
  return raw.map((r) => String(r['#text'] ?? '')).join('');
}

function toRaw(nodes: readonly XmlNode[]): Raw[] {
  return nodes.map((node): Raw => {
    if ('text' in node) return { '#text': node.text };
    if ('comment' in node) return { '#comment': [{ '#text': node.comment }] };
    if ('cdata' in node) return { '#cdata': [{ '#text': node.cdata }] };
    const raw: Raw = { [node.name]: toRaw(node.children) };
    if (Object.keys(node.attrs).length > 0) raw[':@'] = { ...node.attrs };
    return raw;
  });
}

/** Parse a document; returns its root element. */
export function parseXml(xml: string): XmlElement {
  let raw: Raw[];
  try {
    raw = parser.parse(xml, true) as Raw[];
  } catch (error) {
    throw new XmlError(`invalid XML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const roots = fromRaw(raw).filter(isElement);
  if (roots.length !== 1) throw new XmlError(`expected one root element, found ${roots.length}`);
  return roots[0]!;
}

/** Serialize an element (and its subtree). */
export function buildXml(root: XmlElement): string {
  return builder.build(toRaw([root])) as string;
}

export function isElement(node: XmlNode): node is XmlElement {
  return 'name' in node;
}

export function elements(parent: XmlElement, name?: string): XmlElement[] {
  return parent.children.filter(
    (c): c is XmlElement => isElement(c) && (name === undefined || c.name === name),
  );
}

export function child(parent: XmlElement, name: string): XmlElement | undefined {
  return elements(parent, name)[0];
}

/** Follow a path of element names: path(domain, 'os', 'type'). */
export function path(parent: XmlElement, ...names: string[]): XmlElement | undefined {
  let node: XmlElement | undefined = parent;
  for (const name of names) {
    if (!node) return undefined;
    node = child(node, name);
  }
  return node;
}

export function textOf(element: XmlElement | undefined): string | undefined {
  if (!element) return undefined;
  return element.children.map((c) => ('text' in c ? c.text : 'cdata' in c ? c.cdata : '')).join('');
}

export function setText(element: XmlElement, text: string): void {
  element.children = [{ text }];
}

export function el(
  name: string,
  attrs: Record<string, string | undefined> = {},
  children: XmlNode[] = [],
): XmlElement {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) clean[k] = v;
  return { name, attrs: clean, children };
}

export function textEl(
  name: string,
  text: string,
  attrs: Record<string, string | undefined> = {},
): XmlElement {
  return el(name, attrs, [{ text }]);
}

/** The whitespace text that precedes the parent's first element child, used to indent inserted siblings. */
function indentOf(parent: XmlElement): string | undefined {
  const first = parent.children.findIndex(isElement);
  const before = first > 0 ? parent.children[first - 1] : undefined;
  return before && 'text' in before && before.text.trim() === '' ? before.text : undefined;
}

/**
 * Insert `node` into `parent` after its last element named `after` (first match in the list),
 * else after the last element child; keeps the parent's indentation.
 */
export function insertChild(
  parent: XmlElement,
  node: XmlElement,
  after: readonly string[] = [node.name],
): void {
  let at = -1;
  for (const name of after) {
    for (let i = parent.children.length - 1; i >= 0; i--) {
      const c = parent.children[i]!;
      if (isElement(c) && c.name === name) {
        at = i;
        break;
      }
    }
    if (at >= 0) break;
  }
  if (at < 0) {
    for (let i = parent.children.length - 1; i >= 0; i--) {
      if (isElement(parent.children[i]!)) {
        at = i;
        break;
      }
    }
  }
  const indent = indentOf(parent);
  if (at < 0) {
    // No element children: keep any text, append.
    parent.children.push(node);
    return;
  }
  const insert: XmlNode[] = indent !== undefined ? [{ text: indent }, node] : [node];
  parent.children.splice(at + 1, 0, ...insert);
}

/** Remove an element (and the whitespace text before it). Returns false if it is not a child. */
export function removeChild(parent: XmlElement, node: XmlElement): boolean {
  const at = parent.children.indexOf(node);
  if (at < 0) return false;
  const before = parent.children[at - 1];
  if (before && 'text' in before && before.text.trim() === '') parent.children.splice(at - 1, 2);
  else parent.children.splice(at, 1);
  return true;
}

/** Replace `old` by `node` in place. */
export function replaceChild(parent: XmlElement, old: XmlElement, node: XmlElement): void {
  const at = parent.children.indexOf(old);
  if (at < 0) throw new XmlError(`<${old.name}> is not a child of <${parent.name}>`);
  parent.children[at] = node;
}

/** Deep copy. */
export function cloneXml<T extends XmlNode>(node: T): T {
  return structuredClone(node);
}

/** Local name without a namespace prefix. */
export function localName(name: string): string {
  const at = name.indexOf(':');
  return at < 0 ? name : name.slice(at + 1);
}

/** The namespace URI a prefixed (or unprefixed) element name resolves to, looking up `xmlns` attributes in `scope` (outermost first). */
export function namespaceOf(element: XmlElement, scope: readonly XmlElement[] = []): string | undefined {
  const at = element.name.indexOf(':');
  const attr = at < 0 ? 'xmlns' : `xmlns:${element.name.slice(0, at)}`;
  for (const e of [element, ...[...scope].reverse()]) {
    if (attr in e.attrs) return e.attrs[attr];
  }
  return undefined;
}

/** Elements of namespace `ns` with local name `name` below `root`, at any depth, in document order. */
export function findInNamespace(root: XmlElement, ns: string, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (node: XmlElement, scope: XmlElement[]) => {
    for (const c of node.children) {
      if (!isElement(c)) continue;
      if (localName(c.name) === name && namespaceOf(c, scope) === ns) found.push(c);
      walk(c, [...scope, c]);
    }
  };
  walk(root, [root]);
  return found;
}

/**
 * The element without namespace prefixes, `xmlns` attributes and whitespace-only text: the form
 * libvirt's metadata API takes (`virsh metadata --set`) and gives back.
 */
export function bare(node: XmlElement): XmlElement {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(node.attrs)) if (k !== 'xmlns' && !k.startsWith('xmlns:')) attrs[k] = v;
  const children: XmlNode[] = [];
  for (const c of node.children) {
    if (isElement(c)) children.push(bare(c));
    else if ('text' in c && c.text.trim() !== '') children.push({ text: c.text.trim() });
  }
  return { name: localName(node.name), attrs, children };
}

/**
 * Put a prefixed copy of a (bare) element into a domain's `<metadata>` under `ns`, replacing
 * `existing`; as libvirt's metadata API would store it.
 */
export function embedElement(
  domain: XmlElement,
  element: XmlElement,
  prefix: string,
  ns: string,
  existing: XmlElement | undefined,
): void {
  const prefixed = (node: XmlElement): XmlElement => ({
    name: `${prefix}:${localName(node.name)}`,
    attrs: { ...node.attrs },
    children: node.children.map((c) => (isElement(c) ? prefixed(c) : c)),
  });
  const copy = prefixed(bare(element));
  copy.attrs = { [`xmlns:${prefix}`]: ns, ...copy.attrs };
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
  if (existing) metadata.children[metadata.children.indexOf(existing)] = copy;
  else metadata.children.push(copy);
}
