/**
 * Pending invocations, each behind a one-time code that only the identity who asked may redeem,
 * in the place it was issued, within a time limit. What is stored is the bound invocation
 * (command and arguments), not its target or its verdict: on `confirm`, the pipeline locates the
 * target again and judges it again, so a VM that moved or a rule that changed meanwhile counts.
 *
 * A rule may put an invocation under approval: different, identified people holding the
 * approver roles must `approve CODE` first (in the same place), or one of them may `deny CODE`.
 *
 * Every check-and-take is conditional on what was checked: the store applies a take, an approval
 * or a lapse only to the entry's version that was judged (confirmation-store.ts), and a turn that
 * lost the race looks again. So two confirmations of one code racing each other cannot both win,
 * whatever the interleaving of the turns around them — in one process (memory, the default) or
 * across instances sharing PostgreSQL. Wrong codes are rate-limited per person (in each process),
 * so codes cannot be guessed by brute force.
 */
import { randomInt } from 'node:crypto';
import type { Args, CommandSpec } from '../command/spec.js';
import type { Identity, Place, Sender } from '../core/types.js';
import {
  type ConfirmationStore,
  MemoryConfirmationStore,
  type StoredInvocation,
} from './confirmation-store.js';
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
  private readonly wrong: RateLimiter;
  /** The declarations of the codes made here (others are looked up by path). */
  private readonly commands = new Map<string, CommandSpec>();
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(
    private readonly timeoutSeconds: number,
    private readonly now: () => number = Date.now,
    private readonly store: ConfirmationStore = new MemoryConfirmationStore(),
    /** The declaration of a command path, for codes another process made. */
    private readonly lookup: (path: readonly string[]) => CommandSpec | undefined = () => undefined,
  ) {
    this.wrong = new RateLimiter(WRONG_CODES, now);
  }

  get timeout(): number {
    return this.timeoutSeconds;
  }

  async create(
    invocation: Omit<PendingInvocation, 'code' | 'expiresAt' | 'approvals'>,
    approvals: readonly ApprovalNeed[],
  ): Promise<PendingInvocation> {
    for (;;) {
      const code = Array.from({ length: 6 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
      const created: PendingInvocation = {
        ...invocation,
        code,
        expiresAt: this.now() + this.timeoutSeconds * 1000,
        approvals: approvals.map((need) => ({ need })),
      };
      if (await this.store.add(stored(created))) {
        this.commands.set(created.command.path.join(' '), created.command);
        return created;
      }
    }
  }

  /** Is `code` this requester's, pending in this place? (A bare `confirm CODE` in a channel is then for the bot.) */
  async isPendingFor(code: string, requester: string, placeKey: string): Promise<boolean> {
    const found = await this.store.get(code.toUpperCase());
    return (
      found?.state === 'pending' &&
      found.invocation.requester === requester &&
      found.invocation.placeKey === placeKey
    );
  }

  /**
   * Runs one person's code operations one at a time (in this process), so that a burst of
   * guesses is counted as it comes: the throttle check, the look-up and the wrong code spent
   * happen together, as they did when all three were synchronous.
   */
  serial<T>(requester: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(requester) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(requester, tail);
    void tail.then(() => {
      if (this.turns.get(requester) === tail) this.turns.delete(requester);
    });
    return run;
  }

  /** Too many wrong codes from this person lately: the answer, or undefined when they may try. */
  throttled(requester: string): string | undefined {
    const take = this.wrong.check(requester);
    return take.ok ? undefined : `too many wrong codes: try again in ${take.retryAfterSeconds} s`;
  }

  /** Takes the invocation out (single use) if the code is the requester's, here, approved when it must be, and has not lapsed. */
  redeem(code: string, requester: string, placeKey: string): Promise<Taken> {
    return this.take(code, requester, placeKey, true);
  }

  /** Drops the invocation without running it: the requester's own code, in its place; no approval needed. */
  cancel(code: string, requester: string, placeKey: string): Promise<Taken> {
    return this.take(code, requester, placeKey, false);
  }

  private miss(requester: string, reason: string, lapsed?: PendingInvocation): Taken {
    this.wrong.spend(requester);
    return lapsed ? { ok: false, reason, lapsed } : { ok: false, reason };
  }

  /** Looks, judges, and applies the change to the version judged; looks again when it lost a race. */
  private async attempt(
    code: string,
    judge: (entry: Entry | undefined) => Promise<Taken | undefined>,
  ): Promise<Taken> {
    for (let tries = 0; tries < 20; tries++) {
      const found = await this.store.get(code);
      const pending = found && this.revive(found.invocation);
      const verdict = await judge(
        found && pending ? { state: found.state, version: found.version, pending } : undefined,
      );
      if (verdict) return verdict;
    }
    return { ok: false, reason: `code ${code} kept changing while it was checked: try again` };
  }

  private take(code: string, requester: string, placeKey: string, needsApproval: boolean): Promise<Taken> {
    return this.attempt(code, async (entry) => {
      if (!entry) return this.miss(requester, `no pending command has code ${code}`);
      const found = entry.pending;
      if (entry.state === 'lapsed') {
        if (found.requester === requester && found.placeKey === placeKey)
          return { ok: false, reason: `code ${code} lapsed: run the command again`, lapsed: found };
        return this.miss(requester, `no pending command has code ${code}`);
      }
      if (found.requester !== requester) return this.miss(requester, `code ${code} belongs to someone else`);
      if (found.placeKey !== placeKey)
        return this.miss(requester, `code ${code} was issued in another conversation`);
      if (this.now() > found.expiresAt) {
        if (!(await this.store.lapse(code, entry.version))) return undefined;
        return { ok: false, reason: `code ${code} lapsed: run the command again`, lapsed: found };
      }
      const waiting = pendingApprovals(found);
      if (needsApproval && waiting.length > 0) {
        return {
          ok: false,
          reason: `code ${code} is waiting for approval: a holder of role ${waiting[0]!.approvers.join(' or ')} must approve it`,
        };
      }
      return (await this.store.take(code, entry.version)) ? { ok: true, pending: found } : undefined;
    });
  }

  /**
   * A second person approves. They must be identified, not the requester, hold one of the
   * approver roles of an approval still needed, and be in the place the code was issued in. Their
   * approval meets every need their roles cover; the code then stays valid for another full timeout.
   */
  approve(code: string, approver: Approver, placeKey: string): Promise<Taken> {
    return this.attempt(code, async (entry) => {
      const checked = await this.checkApprover(code, entry, approver, placeKey);
      if (!checked?.ok) return checked;
      const pending: PendingInvocation = {
        ...checked.pending,
        approvals: checked.pending.approvals.map((approval) =>
          approval.by === undefined && approval.need.approvers.some((r) => approver.roles.includes(r))
            ? { ...approval, by: approver.user! }
            : approval,
        ),
        expiresAt: this.now() + this.timeoutSeconds * 1000,
      };
      return (await this.store.update(code, entry!.version, stored(pending)))
        ? { ok: true, pending }
        : undefined;
    });
  }

  /** An approver refuses: the invocation is dropped. */
  deny(code: string, approver: Approver, placeKey: string): Promise<Taken> {
    return this.attempt(code, async (entry) => {
      const checked = await this.checkApprover(code, entry, approver, placeKey);
      if (!checked?.ok) return checked;
      return (await this.store.take(code, entry!.version)) ? checked : undefined;
    });
  }

  private async checkApprover(
    code: string,
    entry: Entry | undefined,
    approver: Approver,
    placeKey: string,
  ): Promise<Taken | undefined> {
    if (!entry) return this.miss(approver.key, `no pending command has code ${code}`);
    const found = entry.pending;
    if (entry.state === 'lapsed') return { ok: false, reason: `code ${code} lapsed` };
    if (found.approvals.length === 0) return { ok: false, reason: `code ${code} does not need approval` };
    const refuse = (reason: string): Taken => ({ ok: false, reason, refused: found });
    if (found.placeKey !== placeKey) {
      this.wrong.spend(approver.key);
      return refuse(`code ${code} was issued in another conversation`);
    }
    if (this.now() > found.expiresAt) {
      if (!(await this.store.lapse(code, entry.version))) return undefined;
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

  /** Marks lapsed invocations and returns them, so that their lapse can be recorded (each once, by one caller). */
  async sweep(): Promise<PendingInvocation[]> {
    const lapsed = await this.store.sweep(this.now());
    return lapsed.map((s) => this.revive(s)).filter((p): p is PendingInvocation => p !== undefined);
  }

  /** A stored invocation with its declaration again (undefined: a command this virtbot does not know). */
  private revive(invocation: StoredInvocation): PendingInvocation | undefined {
    const { path, ...rest } = invocation;
    const command = this.commands.get(path.join(' ')) ?? this.lookup(path);
    return command ? { ...rest, command } : undefined;
  }
}

type Entry = { state: 'pending' | 'lapsed'; version: number; pending: PendingInvocation };

function stored(pending: PendingInvocation): StoredInvocation {
  const { command, ...rest } = pending;
  return { ...rest, path: [...command.path] };
}
