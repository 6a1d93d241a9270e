/** Everything one inbound message accumulates on its way through the pipeline. */
import type { Decision } from '../auth/authorizer.js';
import type { Args, CommandResult, CommandSpec } from '../command/spec.js';
import type { Identity, InboundMessage, Outcome, Reply } from '../core/types.js';

export interface Turn {
  msg: InboundMessage;
  placeKey: string;
  identity: Identity;
  /** The command line (prefix stripped), as it will appear in the record. */
  line: string;
  spec?: CommandSpec;
  args?: Args;
  decision?: Decision;
  result?: CommandResult;
  /** Set by every stage that ends the turn; read by the record stage. */
  outcome?: Outcome;
  detail?: string;
  host?: string;
  vm?: string;
  /** True when this turn is not an operation at all (chatter, meeting lines): nothing to record. */
  notAnOperation?: boolean;
  replies: Reply[];
}

/** Ends a turn with an outcome and a one-line reply to the person. */
export function conclude(turn: Turn, outcome: Outcome, detail: string, reply?: Partial<Reply>): void {
  turn.outcome = outcome;
  turn.detail = detail;
  const isError = outcome === 'invalid' || outcome === 'denied' || outcome === 'failed';
  turn.replies.push({
    text: detail,
    kind: isError ? 'error' : 'reply',
    private: outcome === 'denied',
    ...reply,
  });
}
