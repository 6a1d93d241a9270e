/**
 * Target: finds what the bound command acts on, before anything is judged, so that the judge
 * sees the host and VM the command will really touch, and the command gets that host bound.
 *
 *  - a VM is looked for on every host at once (or on `host=`): on one → bound there; on two →
 *    "say which with host="; nowhere → an error naming the hosts asked and those that could not
 *    be asked (never a silent skip);
 *  - a new VM's name must be free on every host that answers (names are how VMs are found);
 *  - a host command gets `host=` or the first host; a fan-out every host (or `host=`);
 *  - arguments naming host resources (paths, bridges) must be ones the bound host allows.
 */
import { judge, mayHaveVmAccess } from '../../auth/judge.js';
import type { Config } from '../../config/schema.js';
import { refuseBridge, refusePath } from '../../libvirt/host-resources.js';
import type { HostRegistry } from '../../libvirt/hosts.js';
import { accessOf, findVm } from '../../libvirt/placement.js';
import { messageOf } from '../../libvirt/virsh-shell.js';
import { type Bound, type HostBinding, type Invocation, stop, type Target } from '../invocation.js';

export async function target(bound: Bound, hosts: HostRegistry, config: Config): Promise<Invocation> {
  let found: Target;
  try {
    found = await findTarget(bound, hosts, config);
  } catch (error) {
    throw deniedEverywhere(bound, hosts, config) ?? error;
  }
  if (found.kind !== 'none' && found.kind !== 'hosts') await checkHostResources(bound, found.host, hosts);
  return { ...bound, target: found };
}

/**
 * Where a VM could not be found (or not told apart), someone who may not run the command on any
 * host it could be on learns nothing of what exists: the answer is the denial they would get for
 * a VM that is there. Per-VM access is not judged here: without a VM there is no access list.
 */
function deniedEverywhere(bound: Bound, hosts: HostRegistry, config: Config): Error | undefined {
  const spec = bound.command.target;
  if (spec.kind !== 'vm' && spec.kind !== 'new-vm') return undefined;
  const host = named(bound, spec.host);
  const vm = named(bound, spec.vm);
  const verdicts = (host !== undefined ? [host] : hosts.names()).map((h) =>
    judge(config, {
      identity: bound.identity,
      command: bound.command,
      args: bound.args,
      place: bound.msg.place,
      host: h,
      ...(vm !== undefined ? { vm } : {}),
    }),
  );
  if (verdicts.some((v) => v.allowed)) return undefined;
  const reason = verdicts[0]?.reason ?? 'no host to judge on';
  return stop('denied', reason, { text: `denied: ${reason}` });
}

function named(bound: Bound, argName: string | undefined): string | undefined {
  if (argName === undefined) return undefined;
  const value = bound.args[argName];
  return typeof value === 'string' ? value : undefined;
}

function binding(hosts: HostRegistry, name: string): HostBinding {
  return { name, hv: hosts.get(name) };
}

async function findTarget(bound: Bound, hosts: HostRegistry, config: Config): Promise<Target> {
  const spec = bound.command.target;
  const host = named(bound, spec.host);
  switch (spec.kind) {
    case 'none':
      return { kind: 'none' };
    case 'host':
      return { kind: 'host', host: binding(hosts, host ?? hosts.defaultHost()) };
    case 'hosts':
      return {
        kind: 'hosts',
        hosts: (host !== undefined ? [host] : hosts.names()).map((n) => binding(hosts, n)),
      };
    case 'new-vm':
      return newVm(hosts, named(bound, spec.vm)!, host ?? hosts.defaultHost());
    case 'vm':
      return existingVm(bound, hosts, config, named(bound, spec.vm)!, host);
  }
}

async function existingVm(
  bound: Bound,
  hosts: HostRegistry,
  config: Config,
  vm: string,
  host: string | undefined,
): Promise<Target> {
  const candidates = host !== undefined ? [host] : hosts.names();
  const { found, unreachable } = await findVm(hosts, vm, candidates);
  const cannotAsk = unreachable.map((u) => `could not ask ${u.host}: ${u.reason}`);
  if (found.length > 1) {
    throw stop(
      'invalid',
      `there is a VM '${vm}' on ${found.join(' and ')}: say which with ${found.map((h) => `host=${h}`).join(' or ')}`,
    );
  }
  if (found.length === 0) {
    const where = candidates.length === 1 ? `host ${candidates[0]}` : `any host (${candidates.join(', ')})`;
    if (host !== undefined && unreachable.length > 0) {
      throw stop('failed', `cannot reach host ${host} to find VM '${vm}': ${unreachable[0]!.reason}`);
    }
    throw stop(
      'failed',
      `no VM '${vm}' on ${where}${cannotAsk.length > 0 ? `; ${cannotAsk.join('; ')}` : ''}`,
    );
  }
  const at = found[0]!;
  const target: Target = { kind: 'vm', host: binding(hosts, at), vm, notes: cannotAsk };
  if (mayHaveVmAccess(config, bound.identity)) {
    try {
      target.access = await accessOf(hosts, at, vm);
    } catch (error) {
      // Fail closed: without the list there is no per-VM access (roles still apply).
      target.notes.push(`the access list of ${vm} could not be read (${messageOf(error)})`);
    }
  }
  return target;
}

async function newVm(hosts: HostRegistry, vm: string, host: string): Promise<Target> {
  const { found } = await findVm(hosts, vm, hosts.names());
  if (found.length > 0) {
    throw stop(
      'failed',
      `a VM named '${vm}' already exists on ${found.join(' and ')}: names must be unique across hosts, since virtbot finds VMs by name`,
    );
  }
  return { kind: 'new-vm', host: binding(hosts, host), vm };
}

async function checkHostResources(bound: Bound, host: HostBinding, hosts: HostRegistry): Promise<void> {
  const config = hosts.config(host.name);
  for (const arg of bound.command.args) {
    const value = bound.args[arg.name];
    if (typeof value !== 'string') continue;
    let refusal: string | undefined;
    if (arg.type === 'path') {
      try {
        refusal = await refusePath(host.hv, config, value);
      } catch (error) {
        refusal = `cannot check ${value} against the storage pools of host ${host.name}: ${messageOf(error)}`;
      }
    } else if (arg.type === 'bridge') {
      refusal = refuseBridge(config, value);
    }
    if (refusal !== undefined) throw stop('denied', refusal, { text: `denied: ${refusal}` });
  }
}
