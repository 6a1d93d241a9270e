/**
 * Changing a VM's metadata (access list, OS, stored NIC model and disk bus) safely when several
 * virtbot processes, Kimchi or an admin's virsh change it at once.
 *
 * libvirt's metadata API replaces a whole element; a read-change-write by two writers at once
 * loses one of the changes. So every change:
 *
 *  1. takes the domain's metadata lock: it writes its own claim, a metadata element under a
 *     namespace of its own (`urn:x-virtbot:lock:<random>`, with an expiry), then reads the domain
 *     (one round trip for both). Only when it sees no other live claim does it hold the lock;
 *     otherwise it withdraws its claim and tries again after a random wait. libvirt applies
 *     metadata changes and reads of a domain one at a time, so two writers can never both see
 *     none: each writes before it reads, and the later reader sees the earlier claim. A claim
 *     left by a process that died expires (`leaseMs`).
 *  2. applies `edit` to what it read (the edit is a change — add alice, drop bob — not a list,
 *     so it stays right whatever the others did before),
 *  3. writes the elements, reads them back in the same round trip and checks that they say
 *     what was written; when something else (Kimchi, an admin's virsh, which take no lock)
 *     changed them in between, it starts again from 1, after a random wait.
 */
import { randomBytes } from 'node:crypto';
import { type Hypervisor, type Scope, scopeArgs } from './hypervisor.js';
import { KIMCHI_KEY, KIMCHI_NS, kimchiElementWith } from './kimchi.js';
import {
  accessElement,
  readVmMetadata,
  usesKimchi,
  VIRTBOT_NS,
  VIRTBOT_PREFIX,
  type VmMetadata,
  virtbotElement,
} from './metadata.js';
import { checkName, type VirshArg } from './virsh-quote.js';
import { type BatchResult, VirshConnectionError } from './virsh-shell.js';
import { bare, buildXml, child, el, findInNamespace, isElement, parseXml, type XmlElement } from './xml.js';

export const LOCK_NS = 'urn:x-virtbot:lock:';
const LOCK_KEY = 'vblock';

/** The values virtbot keeps about a VM. */
export interface MetadataValues {
  distro?: string | undefined;
  version?: string | undefined;
  nicModel?: string | undefined;
  diskBus?: string | undefined;
  users: string[];
  groups: string[];
}

/** A change: the new values from the current ones, or undefined to change nothing. */
export type MetadataEdit = (current: VmMetadata) => Partial<MetadataValues> | undefined;

export interface MetadataUpdate {
  /** As read before the change (under the lock). */
  before: VmMetadata;
  /** As read back after it. */
  after: VmMetadata;
  changed: boolean;
  /** Tries it took (1 when nothing got in the way). */
  attempts: number;
  format: 'virtbot' | 'kimchi';
}

export class MetadataConflictError extends VirshConnectionError {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataConflictError';
  }
}

export interface UpdateOptions {
  /** Where to write (default: the running VM and its config, as the domain has them). */
  scope?: Scope;
  /** Tries before giving up (default 8). */
  attempts?: number;
  /** How long a claim holds if its writer dies (ms, default 30 s). */
  leaseMs?: number;
  random?: () => number;
}

function ok(result: BatchResult | undefined): string {
  if (!result) throw new Error('missing batch result');
  if (!result.ok) throw result.error;
  return result.stdout;
}

function values(meta: VmMetadata): MetadataValues {
  return {
    distro: meta.distro,
    version: meta.version,
    nicModel: meta.nicModel,
    diskBus: meta.diskBus,
    users: [...meta.users],
    groups: [...meta.groups],
  };
}

function same(a: MetadataValues, b: MetadataValues): boolean {
  return (
    a.distro === b.distro &&
    a.version === b.version &&
    a.nicModel === b.nicModel &&
    a.diskBus === b.diskBus &&
    a.users.join('\n') === b.users.join('\n') &&
    a.groups.join('\n') === b.groups.join('\n')
  );
}

/** The live claims under a domain's `<metadata>` (URI → expiry, ms). */
function claims(domain: XmlElement): Map<string, number> {
  const out = new Map<string, number>();
  const metadata = child(domain, 'metadata');
  if (!metadata) return out;
  for (const c of metadata.children) {
    if (!isElement(c)) continue;
    const prefix = c.name.includes(':') ? c.name.slice(0, c.name.indexOf(':')) : undefined;
    const ns = prefix !== undefined ? c.attrs[`xmlns:${prefix}`] : c.attrs['xmlns'];
    if (ns?.startsWith(LOCK_NS)) out.set(ns, Date.parse(c.attrs['until'] ?? '') || 0);
  }
  return out;
}

/** Wait a random while that grows with the try (real time: other processes need it to pass). */
function pause(attempt: number, random: () => number): Promise<void> {
  const ms = Math.round(random() * Math.min(400, 20 * 2 ** attempt));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The elements to write for `next`, given the domain as read: [uri, key, element | null (remove)]. */
function writes(
  domain: XmlElement,
  next: MetadataValues,
  kimchi: boolean,
): [string, string, XmlElement | null][] {
  const current = virtbotElement(domain);
  const ours = current ? bare(current) : el('vm');
  const set = (name: string, node: XmlElement | undefined) => {
    const at = ours.children.findIndex((c) => isElement(c) && c.name === name);
    if (node === undefined) {
      if (at >= 0) ours.children.splice(at, 1);
    } else if (at >= 0) ours.children[at] = node;
    else ours.children.push(node);
  };
  const os = next.distro !== undefined ? el('os', { distro: next.distro, version: next.version }) : undefined;
  const devices =
    next.nicModel !== undefined || next.diskBus !== undefined
      ? el('devices', { nicModel: next.nicModel, diskBus: next.diskBus })
      : undefined;
  set('devices', devices);
  const out: [string, string, XmlElement | null][] = [];
  if (kimchi) {
    // OS and access live in Kimchi's element; an older copy in virtbot's goes.
    set('os', undefined);
    set('access', undefined);
    const k = kimchiElementWith(domain, {
      ...(next.distro !== undefined ? { distro: next.distro, version: next.version } : {}),
      users: next.users,
      groups: next.groups,
    });
    out.push([KIMCHI_NS, KIMCHI_KEY, k]);
  } else {
    set('os', os);
    set('access', accessElement(next.users, next.groups));
  }
  const empty = !ours.children.some(isElement);
  if (!(empty && !current)) out.push([VIRTBOT_NS, VIRTBOT_PREFIX, empty ? null : ours]);
  return out;
}

function metadataArgs(
  vm: string,
  uri: string,
  key: string,
  element: XmlElement | null,
  scope: Scope,
): VirshArg[] {
  const args: VirshArg[] = [
    { option: '--domain', value: vm },
    { option: '--uri', value: uri },
  ];
  if (element === null) args.push({ option: '--remove' });
  else args.push({ option: '--key', value: key }, { option: '--set', value: buildXml(element) });
  return [...args, ...scopeArgs(scope)];
}

/** See the file's head. */
export async function updateMetadata(
  hv: Hypervisor,
  vm: string,
  edit: MetadataEdit,
  options: UpdateOptions = {},
): Promise<MetadataUpdate> {
  checkName('vm', vm);
  const random = options.random ?? Math.random;
  const leaseMs = options.leaseMs ?? 30_000;
  const maxAttempts = options.attempts ?? 8;
  const summary = await hv.domainSummary(vm);
  const running = summary.state !== 'shut off' && summary.state !== 'crashed';
  const scope: Scope = options.scope ?? { live: running, config: summary.persistent || !running };
  // The lock and the reads are on one side: the config, or the running VM of a transient one.
  const lockSide: Scope = summary.persistent ? { live: false, config: true } : { live: true, config: false };
  const read: VirshArg[] = [
    { option: '--domain', value: vm },
    ...(summary.persistent ? [{ option: '--inactive' }] : []),
  ];
  for (let attempt = 1; ; attempt++) {
    const mine = `${LOCK_NS}${randomBytes(8).toString('hex')}`;
    const release = async (expired: string[] = []) => {
      await hv.batch(
        [mine, ...expired].map((uri) => ({
          command: 'metadata',
          args: metadataArgs(vm, uri, LOCK_KEY, null, lockSide),
        })),
      );
    };
    // 1. the lock: claim, then look (one round trip).
    const until = new Date(Date.now() + leaseMs).toISOString();
    const [claimed, dumped] = await hv.batch([
      { command: 'metadata', args: metadataArgs(vm, mine, LOCK_KEY, el('claim', { until }), lockSide) },
      { command: 'dumpxml', args: read },
    ]);
    ok(claimed);
    const domain = parseXml(ok(dumped));
    const now = Date.now();
    const others = [...claims(domain)].filter(([uri]) => uri !== mine);
    const expired = others.filter(([, t]) => t <= now).map(([uri]) => uri);
    if (others.some(([, t]) => t > now)) {
      await release();
      if (attempt >= maxAttempts * 4)
        throw new MetadataConflictError(`the metadata of ${vm} stays locked by another virtbot`);
      await pause(attempt, random);
      continue;
    }
    try {
      // 2. the change, on what was read under the lock.
      const kimchi = usesKimchi(domain, hv.metadataMode);
      const before = readVmMetadata(domain, { mode: hv.metadataMode });
      const wanted = edit(before);
      const next: MetadataValues = { ...values(before), ...wanted };
      if (!wanted || (same(next, values(before)) && !before.drift)) {
        return {
          before,
          after: before,
          changed: false,
          attempts: attempt,
          format: kimchi ? 'kimchi' : 'virtbot',
        };
      }
      // 3. write, and read back what each side now says (one round trip).
      const sides: VirshArg[][] = [];
      if (scope.config && summary.persistent)
        sides.push([{ option: '--domain', value: vm }, { option: '--inactive' }]);
      if (scope.live) sides.push([{ option: '--domain', value: vm }]);
      const planned = writes(domain, next, kimchi);
      const results = await hv.batch([
        ...planned.map(([uri, key, element]) => ({
          command: 'metadata',
          args: metadataArgs(vm, uri, key, element, scope),
        })),
        ...sides.map((args) => ({ command: 'dumpxml', args })),
      ]);
      for (const r of results.slice(0, planned.length)) ok(r);
      const readBack = results
        .slice(planned.length)
        .map((r) => readVmMetadata(parseXml(ok(r)), { mode: hv.metadataMode }));
      if (readBack.every((m) => same(values(m), next))) {
        return {
          before,
          after: readBack[0] ?? before,
          changed: true,
          attempts: attempt,
          format: kimchi ? 'kimchi' : 'virtbot',
        };
      }
      if (attempt >= maxAttempts)
        throw new MetadataConflictError(
          `the metadata of ${vm} kept changing under virtbot (${attempt} tries)`,
        );
    } finally {
      await release(expired).catch(() => undefined);
    }
    await pause(attempt, random);
  }
}

/** A change of the access list, as deltas (so that concurrent changes compose). */
export interface AccessChange {
  addUsers?: readonly string[];
  removeUsers?: readonly string[];
  addGroups?: readonly string[];
  removeGroups?: readonly string[];
}

export function accessEdit(change: AccessChange): MetadataEdit {
  return (current) => {
    const users = [...current.users.filter((u) => !change.removeUsers?.includes(u))];
    for (const u of change.addUsers ?? []) if (!users.includes(u)) users.push(u);
    const groups = [...current.groups.filter((g) => !change.removeGroups?.includes(g))];
    for (const g of change.addGroups ?? []) if (!groups.includes(g)) groups.push(g);
    return { users, groups };
  };
}

/** Kimchi's and virtbot's elements in a domain, for tests and diagnostics. */
export function metadataElements(domain: XmlElement): {
  kimchi: XmlElement[];
  virtbot: XmlElement | undefined;
} {
  const metadata = child(domain, 'metadata');
  return {
    kimchi: metadata ? findInNamespace(metadata, KIMCHI_NS, 'metadata') : [],
    virtbot: virtbotElement(domain),
  };
}
