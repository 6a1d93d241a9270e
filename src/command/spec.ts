/**
 * The one declaration of a command. Parsing, validation, help, Discord slash-command
 * registration and the docs are all derived from a CommandSpec; nothing else describes a command.
 */
import type { AuditRecord, Identity, Place } from '../core/types.js';
import type { HostRegistry } from '../libvirt/hosts.js';

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
  | 'time'; // ISO date/time or relative (1h, 2d)

export interface ArgSpec {
  name: string;
  type: ArgType;
  /** Positional arguments come first, in declaration order; the rest are key=value / --flag. */
  positional?: boolean;
  required?: boolean;
  /** For 'enum'. */
  choices?: readonly string[];
  /** For 'int'. */
  min?: number;
  max?: number;
  /** Shown in help and as the Discord option description. */
  help: string;
}

/** Parsed, validated argument values: sizes in KiB, ints as numbers, names as string[]. */
export type ArgValue = string | number | boolean | string[];
export type Args = Record<string, ArgValue | undefined>;

/** An example is documentation and a test: `input` run on the embedded default must reply with `reply` (substring) or match it (RegExp). */
export interface Example {
  input: string;
  reply: string | RegExp;
  /** Why this example exists, for the docs. */
  note?: string;
}

export interface CommandResult {
  /** The short, exact reply for the person. */
  reply: string;
  /** The record's detail (a Kimchi-style log line); defaults to `reply`. */
  detail?: string;
  /** Extra lines (lists); transports may summarise or move them to a private message. */
  lines?: string[];
  host?: string;
  vm?: string;
  /** 'failed' when the command ran but did not achieve its effect. Default 'ok'. */
  outcome?: 'ok' | 'failed';
}

/** What a command may use. Deliberately no transport, channel object or chat client. */
export interface CommandContext {
  identity: Identity;
  hosts: HostRegistry;
  /** The command registry, for `help`. */
  commands: import('./registry.js').CommandRegistry;
  /** Read-only view of the audit log, for `history`. */
  audit: AuditQuery;
  /** Place key of the conversation (opaque to commands), for services keyed by channel. */
  placeKey: string;
  /** Where the command was said (transport, network, channel, private or not). */
  place: Place;
  /** Service lookup for cross-cutting features (permissions explanations, confirmations, …). */
  services: Record<string, unknown>;
  now(): Date;
}

export interface AuditQuery {
  query(filter: AuditFilter): Promise<AuditRecord[]>;
}

export interface AuditFilter {
  vm?: string;
  user?: string;
  host?: string;
  since?: Date;
  limit?: number;
}

export interface CommandSpec {
  /** Canonical path, e.g. ['vm', 'nic', 'add']. */
  path: string[];
  summary: string;
  args: ArgSpec[];
  /** Permission name; defaults to path.join('.'). */
  permission?: string;
  /**
   * Anyone may run it, identified or not (help, whoami, confirm): it reveals nothing and acts
   * only on the caller's own state. Everything else needs a permission.
   */
  open?: boolean;
  /** Destructive commands need a confirmation code. */
  destructive?: boolean;
  examples: Example[];
  /** Which argument names the target VM / host, for records, rules and per-VM access. */
  target?: { vm?: string; host?: string };
  run(ctx: CommandContext, args: Args): Promise<CommandResult>;
}

/** One module under commands/ exports one group. */
export interface CommandGroup {
  /** First path word(s) this module owns, e.g. 'vm'. */
  name: string;
  summary: string;
  /** Word aliases within this group's paths: { iface: 'nic', rm: 'remove' }. */
  aliases?: Record<string, string>;
  commands: CommandSpec[];
}

export function permissionOf(spec: CommandSpec): string {
  return spec.permission ?? spec.path.join('.');
}

/** Thrown by a command for an expected, user-facing failure (no stack trace shown, outcome 'failed'). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly outcome: 'failed' | 'invalid' = 'failed',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}
