/**
 * Execute: runs the command body with the context of its target kind — the hypervisor the
 * invocation was bound to, never a registry to look VMs up in. A command that changes a VM runs
 * under that VM's lock. A CommandError is the command's own, user-facing failure; libvirt-layer
 * errors become one-line failures; anything else is a crash (the record stage handles it).
 */
import { CommandError, type CommandResult, type ResumeRequest } from '../../command/spec.js';
import { type Hypervisor, isDomainNotFound } from '../../libvirt/hypervisor.js';
import { MetadataError } from '../../libvirt/metadata.js';
import { plainError } from '../../libvirt/virsh/errors.js';
import { VirshArgError } from '../../libvirt/virsh-quote.js';
import { VirshConnectionError, VirshError } from '../../libvirt/virsh-shell.js';
import { XmlError } from '../../libvirt/xml.js';
import { VmLockUnavailable } from '../../store/postgres/vm-locks.js';
import type { CommandContext } from '../context.js';
import { type Authorized, type Ending, stop } from '../invocation.js';

export type Executed = { ending: Ending } | { resume: ResumeRequest };

/** Holds a VM across instances while `fn` runs (store.postgres; deps.ts). */
export type CrossLock = <T>(host: string, vm: string, fn: () => Promise<T>) => Promise<T>;

export async function execute(
  authorized: Authorized,
  services: CommandContext,
  crossLock?: CrossLock,
): Promise<Executed> {
  const { command, args, target } = authorized;
  const ctx = contextFor(authorized, services);
  let result: CommandResult;
  try {
    const run = () => command.run(args, ctx);
    result =
      target.kind === 'vm' && command.mutates
        ? await lockedWhileHeld(
            target.host.hv,
            target.vm,
            run,
            crossLock && ((fn) => crossLock(target.host.name, target.vm, fn)),
          )
        : await run();
  } catch (error) {
    throw asStop(error, authorized);
  }
  if (result.resume) return { resume: result.resume };
  const notes = target.kind === 'vm' ? target.notes : [];
  const lines = [...(result.lines ?? []), ...notes.map((note) => `note: ${note}`)];
  return {
    ending: {
      outcome: result.outcome ?? (result.settles ? 'in-progress' : 'ok'),
      detail: result.detail ?? result.reply,
      reply: {
        text: result.reply,
        kind: result.outcome === 'failed' || result.outcome === 'denied' ? 'error' : 'reply',
        ...(lines.length > 0 ? { lines } : {}),
        ...(result.card ? { card: result.card } : {}),
        ...(result.private ? { private: true } : {}),
      },
      ...(result.about ? { about: result.about } : {}),
      ...(result.settles ? { settles: result.settles } : {}),
    },
  };
}

/**
 * Runs `run` under the VM's lock; a result that `hold`s work still going on (a task) keeps the
 * lock until that settles, while its reply goes out now.
 */
function lockedWhileHeld(
  hv: Hypervisor,
  vm: string,
  run: () => Promise<CommandResult>,
  across?: (fn: () => Promise<void>) => Promise<void>,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const held = async () => {
      let result: CommandResult;
      try {
        result = await run();
      } catch (error) {
        reject(error);
        return;
      }
      resolve(result);
      await result.hold?.catch(() => undefined);
    };
    // In-process lock outside, the instances' lock inside: waiters here hold no connection.
    hv.withDomainLock(vm, () => (across ? across(held) : held())).catch(reject);
  });
}

function contextFor(authorized: Authorized, services: CommandContext): unknown {
  const { target } = authorized;
  switch (target.kind) {
    case 'none':
      return services;
    case 'hosts':
      return { ...services, hosts: target.hosts, withheld: authorized.withheld };
    case 'host':
      return { ...services, host: target.host.name, hv: target.host.hv };
    case 'vm':
    case 'new-vm':
      return { ...services, host: target.host.name, hv: target.host.hv, vm: target.vm };
  }
}

/** An error of the libvirt layer (virsh, the SSH session, a host that is down), said plainly. */
function isLibvirtFailure(error: unknown): boolean {
  return (
    error instanceof VirshError ||
    error instanceof VirshConnectionError ||
    plainError(error).code !== 'UNKNOWN'
  );
}

/** A failure of the command, as the one line the person sees. */
function asStop(error: unknown, authorized: Authorized): Error {
  if (error instanceof CommandError) {
    const stopped = stop(error.outcome, error.message);
    if (error.record.detail !== undefined) stopped.ending.detail = error.record.detail;
    if (error.record.about !== undefined) stopped.ending.about = error.record.about;
    return stopped;
  }
  const what = authorized.command.path.join(' ');
  const { target } = authorized;
  if (target.kind === 'vm' && isDomainNotFound(error)) {
    return stop('failed', `${what} failed: VM '${target.vm}' is no longer on host ${target.host.name}`);
  }
  if (error instanceof VirshArgError || error instanceof MetadataError) return stop('invalid', error.message);
  // Nothing was changed: the lock is taken before the command body runs.
  if (error instanceof VmLockUnavailable) return stop('failed', `${what} not run: ${error.message}`);
  if (error instanceof XmlError) return stop('failed', `${what} failed: ${error.message}`);
  if (isLibvirtFailure(error)) {
    // What virtbot found when it checked after a dropped connection is the news: keep it.
    const checked = error instanceof Error ? /; checked afterwards: .*$/.exec(error.message)?.[0] : undefined;
    const plain = plainError(error).message;
    return stop(
      'failed',
      `${what} failed: ${checked && !plain.includes('checked afterwards') ? `${plain.replace(/; outcome unknown$/, '')}${checked}` : plain}`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
