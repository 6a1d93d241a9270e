/**
 * Helpers shared by the VM, host, network, template and version commands: finding the host of
 * a VM, turning libvirt layer errors into one-line CommandErrors, formatting.
 */
import {
  type ArgSpec,
  type Args,
  type CommandContext,
  CommandError,
  type CommandResult,
} from '../src/command/spec.js';
import { formatKiB } from '../src/grammar/types.js';
import { doneOrChecked } from '../src/libvirt/changes.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { MetadataError } from '../src/libvirt/metadata.js';
import { VirshArgError } from '../src/libvirt/virsh-quote.js';
import { VirshConnectionError, VirshError } from '../src/libvirt/virsh-shell.js';
import { XmlError } from '../src/libvirt/xml.js';

export { formatKiB };

export const HOST_ARG: ArgSpec = {
  name: 'host',
  type: 'host',
  help: 'the host (default: where the VM is, else the first host)',
};
export const VM_ARG: ArgSpec = {
  name: 'vm',
  type: 'vm',
  positional: true,
  required: true,
  help: 'the VM (libvirt domain) name',
};
export const VM_TARGET = { vm: 'vm', host: 'host' } as const;

export function str(args: Args, name: string): string | undefined {
  const v = args[name];
  return typeof v === 'string' ? v : undefined;
}

export function num(args: Args, name: string): number | undefined {
  const v = args[name];
  return typeof v === 'number' ? v : undefined;
}

export function list(args: Args, name: string): string[] {
  const v = args[name];
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  return [];
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Turn libvirt-layer failures into user-facing CommandErrors (one line). */
export function userError(error: unknown, what: string): never {
  if (error instanceof CommandError) throw error;
  if (error instanceof VirshConnectionError) throw new CommandError(`${what} failed: ${error.message}`);
  if (error instanceof VirshError) throw new CommandError(`${what} failed: ${error.message}`);
  if (error instanceof VirshArgError || error instanceof MetadataError)
    throw new CommandError(error.message, 'invalid');
  if (error instanceof XmlError) throw new CommandError(`${what} failed: ${error.message}`);
  throw error;
}

/** A change checked after a dropped connection gets a note in the reply (see changes.doneOrChecked). */
export async function doneOrCheckedNote(
  change: () => Promise<unknown>,
  check: () => Promise<boolean>,
): Promise<string> {
  return (await doneOrChecked(change, check))
    ? ' (the connection dropped mid-way; checked afterwards: done)'
    : '';
}

/** Run `fn`, reporting libvirt failures as `what failed: …`. */
export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    userError(error, what);
  }
}

/**
 * Find the VM's host and run a change under the VM's lock, reporting libvirt failures as
 * `<what> failed: …`.
 */
export async function changeVm(
  ctx: CommandContext,
  args: Args,
  vm: string,
  what: string,
  fn: (hv: Hypervisor) => Promise<CommandResult>,
): Promise<CommandResult> {
  const hv = await locate(ctx, args, vm);
  return guarded(what, () => hv.withDomainLock(vm, () => fn(hv)));
}

/** The hypervisor named by `host=`, or the default one. */
export function hostOf(ctx: CommandContext, args: Args): Hypervisor {
  return ctx.hosts.get(str(args, 'host'));
}

/**
 * The hypervisor where a VM is: the `host=` one when given, else the first configured host
 * that has a VM of that name.
 */
export async function locate(ctx: CommandContext, args: Args, vm: string): Promise<Hypervisor> {
  const named = str(args, 'host');
  const candidates = named !== undefined ? [named] : ctx.hosts.names();
  const unreachable: string[] = [];
  for (const name of candidates) {
    const hv = ctx.hosts.get(name);
    try {
      if (await hv.exists(vm)) return hv;
    } catch (error) {
      // One unreachable host does not hide the VM on another; alone, it is the answer.
      if (candidates.length === 1) userError(error, `looking up VM '${vm}' on ${name}`);
      unreachable.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const where =
    named !== undefined
      ? `host ${named}`
      : candidates.length === 1
        ? `host ${candidates[0]}`
        : `any host (${candidates.join(', ')})`;
  const also = unreachable.length > 0 ? `; could not ask ${unreachable.join('; ')}` : '';
  throw new CommandError(`no VM '${vm}' on ${where}${also}`);
}

export function result(
  hv: Hypervisor,
  vm: string | undefined,
  reply: string,
  detail?: string,
  lines?: string[],
): CommandResult {
  const out: CommandResult = { reply, host: hv.name };
  if (vm !== undefined) out.vm = vm;
  if (detail !== undefined) out.detail = detail;
  if (lines !== undefined) out.lines = lines;
  return out;
}
