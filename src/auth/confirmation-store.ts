/**
 * Where pending confirmations are kept (see confirmations.ts for what they are). The rules —
 * whose code it is, where, until when, which approvals — live in `Confirmations`; a store only
 * keeps entries and makes each change conditional on the version that was checked, so that of
 * two turns racing on one code exactly one wins, whether they run in one process (memory, the
 * default) or in several (PostgreSQL: `DELETE … RETURNING` / `UPDATE … WHERE version = $v`,
 * src/store/postgres/confirmations.ts).
 */
import type { PendingInvocation } from './confirmations.js';

/** A pending invocation as kept: its command by path (the declaration is looked up again). */
export type StoredInvocation = Omit<PendingInvocation, 'command'> & { path: string[] };

export interface StoredEntry {
  /** 'lapsed': remembered for a while, so that a late `confirm` hears "lapsed" rather than "no such code". */
  state: 'pending' | 'lapsed';
  /** Changes with every update: a take or an update applies only to the version it checked. */
  version: number;
  invocation: StoredInvocation;
}

export interface ConfirmationStore {
  /** Keeps a new pending invocation; false when its code is in use (pending or remembered). */
  add(invocation: StoredInvocation): Promise<boolean>;
  get(code: string): Promise<StoredEntry | undefined>;
  /** Removes the pending entry if it is still at `version` and returns it: the one take that wins. */
  take(code: string, version: number): Promise<StoredInvocation | undefined>;
  /** Replaces a pending entry (approvals given, a new expiry) if it is still at `version`. */
  update(code: string, version: number, invocation: StoredInvocation): Promise<boolean>;
  /** Marks a pending entry lapsed if it is still at `version` (true for at most one caller). */
  lapse(code: string, version: number): Promise<boolean>;
  /** Marks every pending entry that expired before `now` lapsed and returns them, each to one caller. */
  sweep(now: number): Promise<StoredInvocation[]>;
}

/** How many lapsed codes are remembered. */
const REMEMBER_LAPSED = 1000;

/** The embedded default: one process's memory (codes do not survive a restart). */
export class MemoryConfirmationStore implements ConfirmationStore {
  private readonly entries = new Map<string, StoredEntry>();
  private lapsedCount = 0;

  async add(invocation: StoredInvocation): Promise<boolean> {
    if (this.entries.has(invocation.code)) return false;
    this.entries.set(invocation.code, { state: 'pending', version: 1, invocation });
    return true;
  }

  async get(code: string): Promise<StoredEntry | undefined> {
    return this.entries.get(code);
  }

  async take(code: string, version: number): Promise<StoredInvocation | undefined> {
    const entry = this.entries.get(code);
    if (entry?.state !== 'pending' || entry.version !== version) return undefined;
    this.entries.delete(code);
    return entry.invocation;
  }

  async update(code: string, version: number, invocation: StoredInvocation): Promise<boolean> {
    const entry = this.entries.get(code);
    if (entry?.state !== 'pending' || entry.version !== version) return false;
    this.entries.set(code, { state: 'pending', version: version + 1, invocation });
    return true;
  }

  async lapse(code: string, version: number): Promise<boolean> {
    const entry = this.entries.get(code);
    if (entry?.state !== 'pending' || entry.version !== version) return false;
    this.markLapsed(code, entry);
    return true;
  }

  async sweep(now: number): Promise<StoredInvocation[]> {
    const lapsed: StoredInvocation[] = [];
    for (const [code, entry] of this.entries) {
      if (entry.state === 'pending' && now > entry.invocation.expiresAt) {
        this.markLapsed(code, entry);
        lapsed.push(entry.invocation);
      }
    }
    return lapsed;
  }

  private markLapsed(code: string, entry: StoredEntry): void {
    // Re-inserted, so that the oldest lapsed codes come first when some are forgotten.
    this.entries.delete(code);
    this.entries.set(code, { state: 'lapsed', version: entry.version + 1, invocation: entry.invocation });
    this.lapsedCount++;
    if (this.lapsedCount <= REMEMBER_LAPSED) return;
    for (const [old, e] of this.entries) {
      if (e.state !== 'lapsed') continue;
      this.entries.delete(old);
      this.lapsedCount--;
      break;
    }
  }
}
