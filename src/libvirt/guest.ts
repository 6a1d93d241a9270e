/**
 * What can be learnt about a guest from outside: its addresses from the three sources libvirt
 * has (`domifaddr --source lease|arp|agent`: the network's DHCP leases, the host's ARP table, the
 * qemu-guest-agent), each address saying where it came from; and the OS, hostname and users
 * from the guest agent (`guestinfo`), or why there is no agent to ask.
 */

import { isUnsupported } from './changes.js';
import type { Hypervisor } from './hypervisor.js';
import { checkName } from './virsh-quote.js';
import { VirshError } from './virsh-shell.js';

export const ADDRESS_SOURCES = ['lease', 'arp', 'agent'] as const;
export type AddressSource = (typeof ADDRESS_SOURCES)[number];

export interface GuestAddress {
  /** Interface name as the source reports it (vnet0 for lease/arp, eth0 inside the guest). */
  iface: string;
  mac: string;
  protocol: string;
  /** With its prefix: 192.168.122.3/24. */
  address: string;
  source: AddressSource;
}

export interface AddressReport {
  addresses: GuestAddress[];
  /** Per source that gave nothing: why (no lease, no agent, not supported here). */
  silent: { source: AddressSource; reason: string }[];
}

/** `domifaddr` table → addresses (continuation lines inherit the interface and MAC). */
export function parseDomifaddr(text: string, source: AddressSource): GuestAddress[] {
  const out: GuestAddress[] = [];
  let iface = '';
  let mac = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || /^-+$/.test(line) || /^Name\s+MAC address/.test(line)) continue;
    const cols = line.split(/\s+/);
    if (cols.length < 4) continue;
    if (cols[0] !== '-') iface = cols[0]!;
    if (cols[1] !== '-') mac = cols[1]!;
    out.push({ iface, mac, protocol: cols[2]!, address: cols[3]!, source });
  }
  return out;
}

/** Why the agent gave nothing, in words, from libvirt's error. */
export function agentAbsence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isUnsupported(error) && !/agent/i.test(message))
    return "this host's driver cannot talk to a guest agent";
  if (/domain is not running/i.test(message)) return 'the VM is not running';
  if (/not configured/i.test(message)) return 'no guest agent channel in its definition';
  if (/not (responding|connected)|not available/i.test(message))
    return 'the guest agent does not answer (is qemu-guest-agent running in the guest?)';
  return message.replace(/^error:\s*/i, '').split('\n')[0]!;
}

export async function guestAddresses(hv: Hypervisor, vm: string): Promise<AddressReport> {
  checkName('vm', vm);
  const report: AddressReport = { addresses: [], silent: [] };
  for (const source of ADDRESS_SOURCES) {
    try {
      const { stdout } = await hv.virsh('domifaddr', [
        { option: '--domain', value: vm },
        { option: '--source', value: source },
      ]);
      const found = parseDomifaddr(stdout, source);
      if (found.length === 0) report.silent.push({ source, reason: SILENT[source] });
      report.addresses.push(...found);
    } catch (error) {
      if (!(error instanceof VirshError)) throw error;
      report.silent.push({ source, reason: source === 'agent' ? agentAbsence(error) : firstLine(error) });
    }
  }
  return report;
}

const SILENT: Record<AddressSource, string> = {
  lease: "no DHCP lease (not on a libvirt network with libvirt's DHCP, or no lease yet)",
  arp: 'not in the host’s ARP table',
  agent: 'the guest agent reported no address',
};

function firstLine(error: Error): string {
  return error.message.split('\n')[0]!;
}

/** The same address seen by several sources is one address with several sources. */
export function mergeAddresses(addresses: readonly GuestAddress[]): {
  address: string;
  mac: string;
  iface: string;
  sources: AddressSource[];
}[] {
  const out: { address: string; mac: string; iface: string; sources: AddressSource[] }[] = [];
  for (const a of addresses) {
    const same = out.find((o) => o.address === a.address && o.mac === a.mac);
    if (same) {
      if (!same.sources.includes(a.source)) same.sources.push(a.source);
    } else out.push({ address: a.address, mac: a.mac, iface: a.iface, sources: [a.source] });
  }
  return out;
}

export interface GuestFacts {
  os?: string;
  kernel?: string;
  hostname?: string;
  users: { name: string; since?: string }[];
  timezone?: string;
}

/** `guestinfo` key/value output → facts. */
export function parseGuestinfo(text: string): GuestFacts {
  const kv: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) kv[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  const facts: GuestFacts = { users: [] };
  const os =
    kv['os.pretty-name'] ?? ([kv['os.name'], kv['os.version']].filter(Boolean).join(' ') || undefined);
  if (os) facts.os = kv['os.machine'] ? `${os} (${kv['os.machine']})` : os;
  if (kv['os.kernel-release']) facts.kernel = kv['os.kernel-release'];
  if (kv['hostname']) facts.hostname = kv['hostname'];
  if (kv['timezone.name']) facts.timezone = kv['timezone.name'];
  const count = Number(kv['user.count'] ?? 0);
  for (let i = 0; i < count; i++) {
    const name = kv[`user.${i}.name`];
    if (name === undefined) continue;
    const login = Number(kv[`user.${i}.login-time`]);
    facts.users.push(
      Number.isFinite(login) && login > 0 ? { name, since: new Date(login).toISOString() } : { name },
    );
  }
  return facts;
}

/** Facts from the guest agent, or why there are none. */
export async function guestFacts(
  hv: Hypervisor,
  vm: string,
): Promise<{ facts: GuestFacts } | { absent: string }> {
  checkName('vm', vm);
  try {
    const { stdout } = await hv.virsh('guestinfo', [
      { option: '--domain', value: vm },
      { option: '--os' },
      { option: '--hostname' },
      { option: '--user' },
      { option: '--timezone' },
    ]);
    return { facts: parseGuestinfo(stdout) };
  } catch (error) {
    if (!(error instanceof VirshError)) throw error;
    return { absent: agentAbsence(error) };
  }
}
