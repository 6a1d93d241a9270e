/**
 * Pending actions, each behind a one-time code that only the identity who asked may redeem,
 * within a time limit. Codes are random, single use, and bound to the place they were issued in,
 * so a code seen in one channel cannot be replayed from another. An action a rule puts under
 * approval can be redeemed only after a different, identified person holding an approver role
 * has approved it (in the same place).
 *
 * Every check-and-take is synchronous: two confirmations of one code racing each other cannot
 * both win, whatever the interleaving of the turns around them.
 */
import { randomInt } from 'node:crypto';
import type { Args, CommandSpec } from '../command/spec.js';
import type { Identity, Place, Sender } from '../core/types.js';

export interface PendingAction {
  code: string;
  spec: CommandSpec;
  args: Args;
  line: string;
  requester: string;
  placeKey: string;
  expiresAt: number;
  host?: string;
  vm?: string;
  /** Who asked and where, for the record of a lapse. */
  who?: { user: string | null; nick: string; proof: string };
  place?: Place;
  /** Present when a second person must approve before the requester may confirm. */
  approval?: { approvers: string[]; rule: string; approvedBy?: string };
}

export type Redemption =
  | { ok: true; action: PendingAction }
  | { ok: false; reason: string; action?: PendingAction; lapsed?: boolean };

export interface Approver {
  /** identityKey of the approver. */
  key: string;
  user: string | null;
  roles: readonly string[];
}

/** Letters and digits that cannot be mistaken for one another in a chat font. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** How many lapsed codes are remembered, so that a late `confirm` hears "lapsed" rather than "no such code". */
const REMEMBER_LAPSED = 1000;

/**
 * Whose code it is. An identified user is the same person everywhere. An anonymous sender is only
 * as distinct as the transport can tell: an unregistered Discord id or IRC account is stable; a
 * hostmask (nick!user@host) is better than a nick, which anyone may take once it is free.
 */
export function identityKey(identity: Identity, placeKey: string, sender?: Sender): string {
  if (identity.user !== null) return `user:${identity.user}`;
  const network = placeKey.split(':').slice(0, 2).join(':');
  if (sender?.userId) return `anon-id:${network}:${sender.userId}`;
  if (sender?.account) return `anon-account:${network}:${sender.account.toLowerCase()}`;
  if (sender?.hostmask) return `anon-mask:${placeKey}:${sender.hostmask.toLowerCase()}`;
  return `anon:${placeKey}:${identity.nick}`;
}

export class Confirmations {
  private readonly pending = new Map<string, PendingAction>();
  private readonly lapsed = new Map<string, PendingAction>();

  constructor(
    private readonly timeoutSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  get timeout(): number {
    return this.timeoutSeconds;
  }

  get size(): number {
    return this.pending.size;
  }

  create(action: Omit<PendingAction, 'code' | 'expiresAt'>): PendingAction {
    let code: string;
    do {
      code = Array.from({ length: 6 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    } while (this.pending.has(code) || this.lapsed.has(code));
    const created: PendingAction = { ...action, code, expiresAt: this.now() + this.timeoutSeconds * 1000 };
    this.pending.set(code, created);
    return created;
  }

  /** Takes the action out (single use) if the code exists, is the requester's, in this place, approved when it must be, and has not lapsed. */
  redeem(code: string, requester: string, placeKey: string): Redemption {
    return this.take(code, requester, placeKey, true);
  }

  /** Drops the action without running it: the requester's own code, in its place; no approval needed. */
  cancel(code: string, requester: string, placeKey: string): Redemption {
    return this.take(code, requester, placeKey, false);
  }

  private take(code: string, requester: string, placeKey: string, needsApproval: boolean): Redemption {
    const action = this.pending.get(code);
    if (!action) {
      const gone = this.lapsed.get(code);
      if (gone && gone.requester === requester && gone.placeKey === placeKey) {
        return {
          ok: false,
          reason: `code ${code} lapsed: run the command again`,
          action: gone,
          lapsed: true,
        };
      }
      return { ok: false, reason: `no pending action has code ${code}` };
    }
    if (action.requester !== requester) return { ok: false, reason: `code ${code} belongs to someone else` };
    if (action.placeKey !== placeKey)
      return { ok: false, reason: `code ${code} was issued in another conversation` };
    if (this.now() > action.expiresAt) {
      this.pending.delete(code);
      return { ok: false, reason: `code ${code} lapsed: run the command again`, action, lapsed: true };
    }
    if (needsApproval && action.approval && action.approval.approvedBy === undefined) {
      return {
        ok: false,
        reason: `code ${code} is waiting for approval: a holder of role ${action.approval.approvers.join(' or ')} must type 'approve ${code}'`,
      };
    }
    this.pending.delete(code);
    return { ok: true, action };
  }

  /**
   * A second person approves. They must be identified, not the requester, hold one of the
   * approver roles, and be in the place the code was issued in. The code then stays valid for
   * the requester's `confirm` for another full timeout.
   */
  approve(code: string, approver: Approver, placeKey: string): Redemption {
    const action = this.pending.get(code);
    if (!action) {
      if (this.lapsed.has(code)) return { ok: false, reason: `code ${code} lapsed`, lapsed: true };
      return { ok: false, reason: `no pending action has code ${code}` };
    }
    if (!action.approval) return { ok: false, reason: `code ${code} does not need approval`, action };
    if (action.placeKey !== placeKey)
      return { ok: false, reason: `code ${code} was issued in another conversation`, action };
    if (this.now() > action.expiresAt) {
      this.pending.delete(code);
      return { ok: false, reason: `code ${code} lapsed`, action, lapsed: true };
    }
    if (approver.user === null)
      return { ok: false, reason: 'approving needs an identified user: log in to services first', action };
    if (approver.key === action.requester)
      return { ok: false, reason: `you asked for ${action.line}: someone else must approve it`, action };
    const held = action.approval.approvers.find((role) => approver.roles.includes(role));
    if (held === undefined) {
      return {
        ok: false,
        reason: `approving code ${code} needs role ${action.approval.approvers.join(' or ')}, which ${approver.user} does not hold`,
        action,
      };
    }
    if (action.approval.approvedBy !== undefined)
      return {
        ok: false,
        reason: `code ${code} was already approved by ${action.approval.approvedBy}`,
        action,
      };
    action.approval.approvedBy = approver.user;
    action.expiresAt = this.now() + this.timeoutSeconds * 1000;
    return { ok: true, action };
  }

  /** Drops lapsed actions and returns them, so that their lapse can be recorded. */
  sweep(): PendingAction[] {
    const lapsed: PendingAction[] = [];
    const now = this.now();
    for (const [code, action] of this.pending) {
      if (now > action.expiresAt) {
        this.pending.delete(code);
        lapsed.push(action);
        this.lapsed.set(code, action);
      }
    }
    while (this.lapsed.size > REMEMBER_LAPSED) this.lapsed.delete(this.lapsed.keys().next().value!);
    return lapsed;
  }
}
