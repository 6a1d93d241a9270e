/**
 * What a message becomes on its way through the pipeline. Each stage takes one of these and
 * hands the next a narrower one, so later stages need no assertions:
 *
 *   Utterance ──parse──▶ Parsed ──resolve──▶ Resolved ──bind──▶ Bound ──target──▶ Invocation
 *             ──authorize──▶ Authorized ──confirm──▶ (pending, or on) ──execute──▶ Ending
 *
 * The Invocation is built once and carried unchanged to execution: the request that was judged
 * is the request that runs. A stage that ends the turn throws `Stop` with the outcome.
 */
import type { Verdict } from '../auth/judge.js';
import type { VmAccessList } from '../auth/vm-access.js';
import type { Args, CommandResult, CommandSpec } from '../command/spec.js';
import type { Identity, InboundMessage, Outcome, Reply } from '../core/types.js';
import type { Token } from '../grammar/tokenize.js';
import type { Hypervisor } from '../libvirt/hypervisor.js';

/** A line said to the bot, by an identified (or anonymous) person, in a place. */
export interface Utterance {
  msg: InboundMessage;
  identity: Identity;
  placeKey: string;
  /** Whose codes are whose: see `identityKey`. */
  requester: string;
  /** The line as said to the bot, address stripped and trimmed. */
  line: string;
}

export interface Parsed extends Utterance {
  /** The tokens of a typed line; absent for a structured command. */
  tokens?: readonly Token[];
}

export interface Resolved extends Utterance {
  command: CommandSpec;
  /** The tokens after the command's path words (typed lines). */
  rest?: readonly Token[];
}

export interface Bound extends Utterance {
  command: CommandSpec;
  args: Args;
  /** The canonical command line for these arguments (records, prompts). */
  canonical: string;
  /** Set when this invocation comes back from `confirm CODE`. */
  confirmed?: { code: string; approvedBy: string[]; approvalRules: string[] };
}

/** A host as the command will use it. */
export interface HostBinding {
  name: string;
  hv: Hypervisor;
}

/** What the command acts on, found by the target stage before anything is judged. */
export type Target =
  | { kind: 'none' }
  | { kind: 'host'; host: HostBinding }
  | { kind: 'hosts'; hosts: HostBinding[] }
  | {
      kind: 'vm';
      host: HostBinding;
      vm: string;
      /** The VM's access list, read when per-VM access could apply to the requester. */
      access?: VmAccessList;
      /** What the person should know about how it was found ("prod-2 could not be asked: …"). */
      notes: string[];
    }
  | { kind: 'new-vm'; host: HostBinding; vm: string };

export interface Invocation extends Bound {
  target: Target;
}

export interface Authorized extends Invocation {
  verdict: Verdict;
  /** For fan-outs: the hosts the requester may not see, with the reason. */
  withheld: { name: string; reason: string }[];
}

/** How a turn ends: one outcome, one reply. */
export interface Ending {
  outcome: Outcome;
  /** The record's detail. */
  detail: string;
  reply: Reply;
  /** Where it was aimed, when the target does not say (cancel/approve of someone's pending command). */
  about?: { host?: string; vm?: string };
  /** A change still in progress on the host: its outcome, once libvirt says (see CommandResult.settles). */
  settles?: CommandResult['settles'];
  /** The shared store was down (the reply says so): that the record cannot be written either is not news. */
  storeDown?: boolean;
}

/** Thrown by a stage to end the turn with an outcome (never for crashes). */
export class Stop extends Error {
  constructor(readonly ending: Ending) {
    super(ending.detail);
    this.name = 'Stop';
  }
}

/** Ends a turn with an outcome and a one-line reply: `throw stop('invalid', 'unknown command …')`. */
export function stop(outcome: Outcome, detail: string, reply: Partial<Reply> = {}): Stop {
  const isError = outcome === 'invalid' || outcome === 'denied' || outcome === 'failed';
  return new Stop({
    outcome,
    detail,
    reply: {
      text: detail,
      kind: isError ? 'error' : 'reply',
      ...(outcome === 'denied' ? { private: true } : {}),
      ...reply,
    },
  });
}

/** Where the invocation is aimed, for records. */
export function aimOf(target: Target | undefined): { host?: string; vm?: string } {
  if (!target) return {};
  switch (target.kind) {
    case 'none':
      return {};
    case 'hosts':
      return target.hosts.length === 1 ? { host: target.hosts[0]!.name } : {};
    case 'host':
      return { host: target.host.name };
    case 'vm':
    case 'new-vm':
      return { host: target.host.name, vm: target.vm };
  }
}
