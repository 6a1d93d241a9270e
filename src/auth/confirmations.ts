/**
 * Pending destructive actions, each behind a one-time code that only the identity who asked may
 * redeem, within a time limit. Codes are random, single use, and bound to the place they were
 * issued in, so a code seen in one channel cannot be replayed from another.
 */
import { randomInt } from 'node:crypto';
import type { Args, CommandSpec } from '../command/spec.js';
import type { Identity } from '../core/types.js';

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
}

export type Redemption =
  | { ok: true; action: PendingAction }
  | { ok: false; reason: string; action?: PendingAction; lapsed?: boolean };

/** Letters and digits that cannot be mistaken for one another in a chat font. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export function identityKey(identity: Identity, placeKey: string): string {
  // Anonymous senders are only as distinct as their nick in one place.
  return identity.user !== null ? `user:${identity.user}` : `anon:${placeKey}:${identity.nick}`;
}

export class Confirmations {
  private readonly pending = new Map<string, PendingAction>();

  constructor(
    private readonly timeoutSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  get timeout(): number {
    return this.timeoutSeconds;
  }

  create(action: Omit<PendingAction, 'code' | 'expiresAt'>): PendingAction {
    let code: string;
    do {
      code = Array.from({ length: 6 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    } while (this.pending.has(code));
    const created: PendingAction = { ...action, code, expiresAt: this.now() + this.timeoutSeconds * 1000 };
    this.pending.set(code, created);
    return created;
  }

  /** Takes the action out (single use) if the code exists, is the requester's, in this place, and has not lapsed. */
  redeem(code: string, requester: string, placeKey: string): Redemption {
    const action = this.pending.get(code);
    if (!action) return { ok: false, reason: `no pending action has code ${code}` };
    if (action.requester !== requester) return { ok: false, reason: `code ${code} belongs to someone else` };
    if (action.placeKey !== placeKey)
      return { ok: false, reason: `code ${code} was issued in another conversation` };
    this.pending.delete(code);
    if (this.now() > action.expiresAt) {
      return { ok: false, reason: `code ${code} lapsed: run the command again`, action, lapsed: true };
    }
    return { ok: true, action };
  }

  /** Drops lapsed actions and returns them, so that their lapse can be recorded. */
  sweep(): PendingAction[] {
    const lapsed: PendingAction[] = [];
    for (const [code, action] of this.pending) {
      if (this.now() > action.expiresAt) {
        this.pending.delete(code);
        lapsed.push(action);
      }
    }
    return lapsed;
  }
}
