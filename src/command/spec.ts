/**
 * What a command is once declared: the erased, data-only form that parsing, validation, help,
 * Discord slash commands, autocomplete and the docs all read. Commands are written with the
 * typed builders in `define.ts`; nothing else describes a command.
 */
import type { Constraint } from './constraints.js';

/** Argument types. Each has one validator in src/grammar/types.ts. */
export type ArgType =
  | 'vm' // libvirt domain name
  | 'host' // configured host name
  | 'network' // libvirt network name
  | 'bridge' // host bridge interface name
  | 'pool' // storage pool name
  | 'mac' // 52:54:00:12:34:56
  | 'size' // 2G, 512M, 1024 (KiB) -> number of KiB
  | 'int'
  | 'enum' // one of `choices`
  | 'name' // a user / group / template name
  | 'names' // list of names (comma- or space-separated, variadic when positional)
  | 'path' // absolute file path on the host
  | 'text' // free text (rest of line when positional and last)
  | 'bool' // yes/no/true/false/on/off, or --flag
  | 'code' // confirmation code
  | 'time' // ISO date/time or relative (1h, 2d)
  | 'channel'; // a channel ('#ops') or 'private'

export interface ArgSpec {
  name: string;
  type: ArgType;
  /** Positional arguments come first, in declaration order; the rest are key=value / --flag. */
  positional?: boolean;
  required?: boolean;
  /** For 'enum'. */
  choices?: readonly string[];
  /** For 'int': bounds. For 'size': bounds in KiB. */
  min?: number;
  max?: number;
  /** Shown in help and as the Discord option description. */
  help: string;
}

/** Parsed, validated argument values: sizes in KiB, ints as numbers, names as string[]. */
export type ArgValue = string | number | boolean | string[];
export type Args = Record<string, ArgValue | undefined>;

/**
 * An example is documentation and a test: `input` run on the embedded default must reply with
 * `reply` (substring) or match it (RegExp) — a line of the reply as its people see it. It runs
 * as a transcript (src/testing/examples.ts); the flags say who runs it, where and on which
 * transport, as Sopel's `@example` flags do.
 */
export interface Example {
  input: string;
  reply: string | RegExp;
  /** Why this example exists, for the docs. */
  note?: string;
  /**
   * Who says it: 'anonymous' (the default), someone nothing identifies; 'admin', a configured
   * user named admin holding a role that grants everything.
   */
  as?: 'admin' | 'anonymous';
  /** Where: a channel (default '#examples', where the line is given with the prefix) or 'private'. */
  place?: 'private' | `#${string}`;
  /** The transport whose users' view `reply` is checked against (default: plain lines). */
  transport?: 'console' | 'irc' | 'discord';
}

/** How a command finds what it acts on; the pipeline's target stage binds it before authorization. */
export type TargetKind =
  /** Acts on no host. */
  | 'none'
  /** Acts on one host: `host=` or the first configured one. */
  | 'host'
  /** Acts on every host it may (or the `host=` one): a fan-out, judged host by host. */
  | 'hosts'
  /** Acts on an existing VM, found by name on every host (or on `host=`). */
  | 'vm'
  /** Creates a VM: the name must be free; `host=` or the first host. */
  | 'new-vm';

export interface TargetSpec {
  kind: TargetKind;
  /** The argument naming the VM (for 'vm' and 'new-vm'). */
  vm?: string;
  /** The argument naming the host, when the command has one. */
  host?: string;
}

/** What a command body returns. The pipeline turns it into one reply and one record. */
export interface CommandResult {
  /** The short, exact reply for the person. */
  reply: string;
  /** The record's detail (a Kimchi-style log line); defaults to `reply`. */
  detail?: string;
  /** Detail lines of the reply (lists, help); transports summarise or move them to a private message. */
  lines?: string[];
  /** Structured facts for rich renderings (Discord embeds). */
  card?: { title: string; fields: { name: string; value: string }[] };
  /** Send the reply privately. */
  private?: boolean;
  /**
   * 'failed' when the command ran but did not achieve its effect. Default 'ok'. 'in-progress'
   * when its work goes on as a task (src/tasks/runner.ts): a later record gives the outcome.
   */
  outcome?: 'ok' | 'failed' | 'approved' | 'cancelled' | 'denied' | 'in-progress';
  /**
   * Work that goes on after the reply (a task): the VM stays locked until it settles, so no
   * other change to the VM runs in the middle of it.
   */
  hold?: Promise<unknown>;
  /**
   * A change still going on on the host (libvirt has not finished, a guest has not released a
   * device): the reply says it is in progress, and when this resolves its outcome is recorded
   * against the command's intent and said in the same place.
   */
  settles?: Promise<{ outcome: 'ok' | 'failed' | 'unknown'; message: string }>;
  /** Where the command was aimed, when its target does not say (cancel and approve name the pending command's). */
  about?: { host?: string; vm?: string };
  /**
   * Set by `confirm`: the stored invocation to carry on with. The pipeline binds its target
   * again and authorizes it again before it runs.
   */
  resume?: ResumeRequest;
}

/** A stored invocation brought back by `confirm CODE`. */
export interface ResumeRequest {
  code: string;
  /** Who approved it, when a rule asked for approval. */
  approvedBy: string[];
  /** The approvals the stored invocation was created with (rule labels), to compare with the new judgement. */
  approvalRules: string[];
  command: CommandSpec;
  args: Args;
  line: string;
}

/** The erased declaration. Build it with `define.ts`; read it anywhere. */
export interface CommandSpec {
  /** Canonical path, e.g. ['vm', 'nic', 'add']. */
  path: readonly string[];
  summary: string;
  args: readonly ArgSpec[];
  /** Rules between arguments (one of, not both, …), checked at bind time and shown in help. */
  constraints: readonly Constraint[];
  target: TargetSpec;
  /** Permission name; path.join('.') unless declared. */
  permission: string;
  /**
   * Anyone may run it, identified or not (help, whoami, confirm): it reveals nothing and acts
   * only on the caller's own state. Everything else needs a permission.
   */
  open: boolean;
  /** Destructive commands need a confirmation code. */
  destructive: boolean;
  /** Changes something on a host: its intent is recorded before it runs, and it runs under the VM's lock. */
  mutates: boolean;
  /**
   * The argument holding the name of a VM this command brings into being (the new name of
   * `vm rename`, the copy of `vm clone`). Making a VM of that name is judged as `vm.create` of
   * it, besides the command's own permission: a rule on names (`vm: web-prod*`) cannot be walked
   * around by cloning or renaming into them.
   */
  createsVm?: string;
  /**
   * Where a slash command puts it when its group has more commands than Discord allows at one
   * level: `vm start` with slashGroup 'power' is /vm power start. Typed commands are unchanged.
   */
  slashGroup?: string;
  examples: readonly Example[];
  /** The body, erased: `args` are the bound values, `ctx` the context for its target kind. */
  run(args: Args, ctx: unknown): Promise<CommandResult>;
}

/** One module under commands/ exports one group. */
export interface CommandGroup {
  /** First path word this module owns, e.g. 'vm'. */
  name: string;
  summary: string;
  /** Word aliases within this group's paths: { iface: 'nic', rm: 'remove' }. */
  aliases?: Record<string, string>;
  commands: CommandSpec[];
}

export function permissionOf(spec: Pick<CommandSpec, 'permission'>): string {
  return spec.permission;
}

/** Thrown by a command for an expected, user-facing failure (no stack trace shown, outcome 'failed'). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly outcome: 'failed' | 'invalid' | 'denied' | 'lapsed' = 'failed',
    /** For the record, when it should say more than the reply: the detail, and where it was aimed. */
    readonly record: { detail?: string; about?: { host?: string; vm?: string } } = {},
  ) {
    super(message);
    this.name = 'CommandError';
  }
}
