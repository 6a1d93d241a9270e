/**
 * Pending invocations, each behind a one-time code that only the identity who asked may redeem,
 * in the place it was issued, within a time limit. What is stored is the bound invocation
 * (command and arguments), not its target or its verdict: on `confirm`, the pipeline locates the
 * target again and judges it again, so a VM that moved or a rule that changed meanwhile counts.
 *
 * A rule may put an invocation under approval: different, identified people holding the
 * approver roles must `approve CODE` first (in the same place), or one of them may `deny CODE`.
 *
 * Every check-and-take is synchronous: two confirmations of one code racing each other cannot
 * both win, whatever the interleaving of the turns around them. Wrong codes are rate-limited
 * per person, so codes cannot be guessed by brute force.
 */
import { randomInt } from 'node:crypto';
import type { Args, CommandSpec } from '../command/spec.js';
import type { Identity, Place, Sender } from '../core/types.js';
import type { ApprovalNeed } from './judge.js';
import { RateLimiter } from './rate-limit.js';

export interface PendingInvocation {
  code: string;
  command: CommandSpec;
  args: Args;
  /** The canonical command line. */
  line: string;
  /** identityKey of the requester. */
  requester: string;
  placeKey: string;
  place: Place;
  who: { user: string | null; nick: string; proof: string };
  expiresAt: number;
  /** Where it was aimed when asked (for the record of a lapse). */
  host?: string;
  vm?: string;
  /** The approvals it needs, and who gave each (undefined: not yet). */
  approvals: { need: ApprovalNeed; by?: string }[];
}

export type Taken =
  | { ok: true; pending: PendingInvocation }
  | {
      ok: false;
      reason: string;
      lapsed?: PendingInvocation;
      /** The pending invocation the refusal was about, when the code exists (for the record). */
      refused?: PendingInvocation;
    };

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
/** Wrong codes a person may give in a minute before further tries are refused unread. */
const WRONG_CODES = { count: 5, seconds: 60 };

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

export function pendingApprovals(pending: PendingInvocation): ApprovalNeed[] {
  return pending.approvals.filter((a) => a.by === undefined).map((a) => a.need);
}

export class Confirmations {
  private readonly pending = new Map<string, PendingInvocation>();
  private readonly lapsed = new Map<string, PendingInvocation>();
  private readonly wrong: RateLimiter;

  constructor(
    private readonly timeoutSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.wrong = new RateLimiter(WRONG_CODES, now);
  }

  get timeout(): number {
    return this.timeoutSeconds;
  }

  get size(): number {
    return this.pending.size;
  }

  create(
    invocation: Omit<PendingInvocation, 'code' | 'expiresAt' | 'approvals'>,
    approvals: readonly ApprovalNeed[],
  ): PendingInvocation {
    let code: string;
    do {
      code = Array.from({ length: 6 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    } while (this.pending.has(code) || this.lapsed.has(code));
    const created: PendingInvocation = {
      ...invocation,
      code,
      expiresAt: this.now() + this.timeoutSeconds * 1000,
      approvals: approvals.map((need) => ({ need })),
    };
    this.pending.set(code, created);
    return created;
  }

  /** Is `code` this requester's, pending in this place? (A bare `confirm CODE` in a channel is then for the bot.) */
  isPendingFor(code: string, requester: string, placeKey: string): boolean {
    const found = this.pending.get(code.toUpperCase());
    return found !== undefined && found.requester === requester && found.placeKey === placeKey;
  }

  /** Too many wrong codes from this person lately: the answer, or undefined when they may try. */
  throttled(requester: string): string | undefined {
    const take = this.wrong.check(requester);
    return take.ok ? undefined : `too many wrong codes: try again in ${take.retryAfterSeconds} s`;
  }

  /** Takes the invocation out (single use) if the code is the requester's, here, approved when it must be, and has not lapsed. */
  redeem(code: string, requester: string, placeKey: string): Taken {
    return this.take(code, requester, placeKey, true);
  }

  /** Drops the invocation without running it: the requester's own code, in its place; no approval needed. */
  cancel(code: string, requester: string, placeKey: string): Taken {
    return this.take(code, requester, placeKey, false);
  }

  private miss(requester: string, reason: string, lapsed?: PendingInvocation): Taken {
    this.wrong.spend(requester);
    return lapsed ? { ok: false, reason, lapsed } : { ok: false, reason };
  }

  private take(code: string, requester: string, placeKey: string, needsApproval: boolean): Taken {
    const found = this.pending.get(code);
    if (!found) {
      const gone = this.lapsed.get(code);
      if (gone && gone.requester === requester && gone.placeKey === placeKey) {
        return { ok: false, reason: `code ${code} lapsed: run the command again`, lapsed: gone };
      }
      return this.miss(requester, `no pending command has code ${code}`);
    }
    if (found.requester !== requester) return this.miss(requester, `code ${code} belongs to someone else`);
    if (found.placeKey !== placeKey)
      return this.miss(requester, `code ${code} was issued in another conversation`);
    if (this.now() > found.expiresAt) {
      this.expire(code, found);
      return { ok: false, reason: `code ${code} lapsed: run the command again`, lapsed: found };
    }
    const waiting = pendingApprovals(found);
    if (needsApproval && waiting.length > 0) {
      return {
        ok: false,
        reason: `code ${code} is waiting for approval: a holder of role ${waiting[0]!.approvers.join(' or ')} must approve it`,
      };
    }
    this.pending.delete(code);
    return { ok: true, pending: found };
  }

  /**
   * A second person approves. They must be identified, not the requester, hold one of the
   * approver roles of an approval still needed, and be in the place the code was issued in. Their
   * approval meets every need their roles cover; the code then stays valid for another full timeout.
   */
  approve(code: string, approver: Approver, placeKey: string): Taken {
    const checked = this.checkApprover(code, approver, placeKey);
    if (!checked.ok) return checked;
    const { pending } = checked;
    for (const approval of pending.approvals) {
      if (approval.by === undefined && approval.need.approvers.some((r) => approver.roles.includes(r)))
        approval.by = approver.user!;
    }
    pending.expiresAt = this.now() + this.timeoutSeconds * 1000;
    return { ok: true, pending };
  }

  /** An approver refuses: the invocation is dropped. */
  deny(code: string, approver: Approver, placeKey: string): Taken {
    const checked = this.checkApprover(code, approver, placeKey);
    if (checked.ok) this.pending.delete(code);
    return checked;
  }

  private checkApprover(code: string, approver: Approver, placeKey: string): Taken {
    const found = this.pending.get(code);
    if (!found) {
      if (this.lapsed.has(code)) return { ok: false, reason: `code ${code} lapsed` };
      return this.miss(approver.key, `no pending command has code ${code}`);
    }
    if (found.approvals.length === 0) return { ok: false, reason: `code ${code} does not need approval` };
    const refuse = (reason: string): Taken => ({ ok: false, reason, refused: found });
    if (found.placeKey !== placeKey) {
      this.wrong.spend(approver.key);
      return refuse(`code ${code} was issued in another conversation`);
    }
    if (this.now() > found.expiresAt) {
      this.expire(code, found);
      return { ok: false, reason: `code ${code} lapsed`, lapsed: found };
    }
    if (approver.user === null) return refuse('approving needs an identified user: log in to services first');
    if (approver.key === found.requester)
      return refuse(`you asked for ${found.line}: someone else must approve it`);
    const waiting = pendingApprovals(found);
    if (waiting.length === 0)
      return {
        ok: false,
        reason: `code ${code} is already approved: ${found.who.user ?? found.who.nick} may confirm it`,
      };
    if (!waiting.some((need) => need.approvers.some((r) => approver.roles.includes(r)))) {
      return {
        ok: false,
        refused: found,
        reason: `approving code ${code} needs role ${waiting.map((n) => n.approvers.join(' or ')).join(', and ')}, which ${approver.user} does not hold`,
      };
    }
    return { ok: true, pending: found };
  }

  private expire(code: string, found: PendingInvocation): void {
    this.pending.delete(code);
    this.lapsed.set(code, found);
    while (this.lapsed.size > REMEMBER_LAPSED) this.lapsed.delete(this.lapsed.keys().next().value!);
  }

  /** Drops lapsed invocations and returns them, so that their lapse can be recorded. */
  sweep(): PendingInvocation[] {
    const lapsed: PendingInvocation[] = [];
    const now = this.now();
    for (const [code, found] of this.pending) {
      if (now > found.expiresAt) {
        this.expire(code, found);
        lapsed.push(found);
      }
    }
    return lapsed;
  }
}
