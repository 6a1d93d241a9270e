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
import { type Hypervisor, isDomainNotFound } from '../src/libvirt/hypervisor.js';
import { MetadataError } from '../src/libvirt/metadata.js';
import type { VirshArg } from '../src/libvirt/virsh-quote.js';
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
export function changeVm(
  ctx: CommandContext,
  args: Args,
  vm: string,
  what: string,
  fn: (hv: Hypervisor) => Promise<CommandResult>,
): Promise<CommandResult> {
  return onVm(ctx, args, vm, what, (hv) => hv.withDomainLock(vm, () => fn(hv)));
}

/**
 * Run `fn` on the VM's host, reporting libvirt failures as `<what> failed: …`.
 *
 * The host is taken without asking when it is known: the `host=` one, the only configured host,
 * or (a hint) where the VM was last found. `fn` then finds out itself: when virsh finds no such
 * domain at `fn`'s first command naming it, nothing was done to it, so the answer is "no VM" for
 * a named or only host, and a look on every host (`locate`) for a hint. Once a command on the
 * domain has succeeded, a later "not found" is the failure of `fn` (the VM vanished mid-way).
 */
export async function onVm<T>(
  ctx: CommandContext,
  args: Args,
  vm: string,
  what: string,
  fn: (hv: Hypervisor) => Promise<T>,
): Promise<T> {
  const named = str(args, 'host');
  const names = ctx.hosts.names();
  const sure = named ?? (names.length === 1 ? names[0] : undefined);
  const guess = sure ?? ctx.hosts.placeOf(vm);
  if (guess !== undefined) {
    const { hv, seen } = watching(ctx.hosts.get(guess), vm);
    try {
      return await fn(hv);
    } catch (error) {
      if (!isDomainNotFound(error) || seen()) userError(error, what);
      if (sure !== undefined) throw new CommandError(`no VM '${vm}' on host ${guess}`);
      // The hint was stale (and is dropped by now): look everywhere.
    }
  }
  const hv = await locate(ctx, args, vm);
  return guarded(what, () => fn(hv));
}

/** `hv` as seen by one command: `seen()` tells whether a virsh command on `vm` has succeeded. */
function watching(hv: Hypervisor, vm: string): { hv: Hypervisor; seen(): boolean } {
  let seen = false;
  const watched = Object.create(hv) as Hypervisor;
  watched.virsh = async (command, virshArgs = [], options = {}) => {
    const out = await hv.virsh(command, virshArgs, options);
    if (virshArgs.some((a) => namesDomain(a, vm))) seen = true;
    return out;
  };
  return { hv: watched, seen: () => seen };
}

function namesDomain(arg: VirshArg, vm: string): boolean {
  return typeof arg === 'object' && arg.option === '--domain' && 'value' in arg && arg.value === vm;
}

/** The hypervisor named by `host=`, or the default one. */
export function hostOf(ctx: CommandContext, args: Args): Hypervisor {
  return ctx.hosts.get(str(args, 'host'));
}

/**
 * The hypervisor where a VM is, asking: the `host=` one when given, else the first configured
 * host that has a VM of that name (every host is asked at once). Remembers where it was found.
 */
export async function locate(ctx: CommandContext, args: Args, vm: string): Promise<Hypervisor> {
  const named = str(args, 'host');
  const candidates = named !== undefined ? [named] : ctx.hosts.names();
  const answers = await Promise.allSettled(candidates.map((name) => ctx.hosts.get(name).exists(vm)));
  const unreachable: string[] = [];
  for (const [i, answer] of answers.entries()) {
    const name = candidates[i]!;
    if (answer.status === 'fulfilled') {
      if (!answer.value) continue;
      ctx.hosts.rememberPlace(vm, name);
      return ctx.hosts.get(name);
    }
    // One unreachable host does not hide the VM on another; alone, it is the answer.
    const error: unknown = answer.reason;
    if (candidates.length === 1) userError(error, `looking up VM '${vm}' on ${name}`);
    unreachable.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
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
