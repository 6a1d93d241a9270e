/**
 * Where VMs are: every candidate host is asked at once whether it has a domain of that name. The
 * answer keeps what each host said, so the caller can tell "on lab" from "on lab and prod-1"
 * from "not on lab, and prod-1 could not be asked". Nothing here guesses: a host that did not
 * answer is reported, never taken as "not there".
 */
import type { HostRegistry } from './hosts.js';
import type { Hypervisor } from './hypervisor.js';
import type { VmMetadata } from './metadata.js';
import { messageOf } from './virsh-shell.js';

export interface Sightings {
  /** Hosts that have a domain of that name, in config order. */
  found: string[];
  /** Hosts that could not be asked, with why. */
  unreachable: { host: string; reason: string }[];
}

export async function findVm(
  hosts: HostRegistry,
  vm: string,
  candidates: readonly string[],
): Promise<Sightings> {
  const answers = await Promise.allSettled(candidates.map((name) => namedExactly(hosts.get(name), vm)));
  const sightings: Sightings = { found: [], unreachable: [] };
  answers.forEach((answer, i) => {
    const host = candidates[i]!;
    if (answer.status === 'rejected') sightings.unreachable.push({ host, reason: messageOf(answer.reason) });
    else if (answer.value) sightings.found.push(host);
  });
  return sightings;
}

/**
 * Has this host a domain whose own name is `vm`? Asked with the list of names, not with a
 * `--domain` lookup: virsh reads a `--domain` value as an id or a UUID before a name (`1` would
 * find the domain with id 1 whatever its name, and the rules judged on VM '1' would not be the
 * rules of the VM acted on), and a name list needs no answer from a guest's QEMU (a hung one does
 * not hold up finding VMs).
 */
async function namedExactly(hv: Hypervisor, vm: string): Promise<boolean> {
  return (await hv.listDomainNames()).includes(vm);
}

/** The users and groups of a VM's access list, from its persistent definition. */
export async function accessOf(
  hosts: HostRegistry,
  host: string,
  vm: string,
): Promise<Pick<VmMetadata, 'users' | 'groups'>> {
  const view = await hosts.get(host).domain(vm, { inactive: true });
  return { users: [...view.metadata.users], groups: [...view.metadata.groups] };
}
