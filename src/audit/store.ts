/**
 * The audit store: what the pipeline writes to and `history` reads from, whatever keeps the
 * records (JSONL files today, `log.ts`; PostgreSQL later). Write-ahead, as Vault does it:
 *
 *   const id = await store.begin(intent);   // durable before anything touches a host
 *   …run the command…
 *   await store.finish(id, { outcome: 'ok', detail });
 *
 * `begin` rejects with AuditUnavailable when the intent cannot be made durable, and then the
 * command must not run. Read-only commands, denials and other one-shot facts go through
 * `record`. At start-up, `recover` finishes every intent a crash left open with `unknown`.
 */
import type { AuditFilter, AuditRecord, Outcome } from '../core/types.js';

/** Who asked for what, where, resolved: written before the command runs. */
export type Intent = Pick<
  AuditRecord,
  'transport' | 'network' | 'channel' | 'user' | 'nick' | 'proof' | 'host' | 'vm' | 'args' | 'private'
> & {
  /** When it was asked (default: now). */
  time?: Date;
  /** The canonical command line (as the bound invocation prints itself). */
  command: string;
  /** The command path, 'vm.stop'. */
  path: string;
};

/** How an intent ended (or where it stands: 'in-progress' may be followed by another outcome). */
export interface OutcomeInput {
  outcome: Outcome;
  detail: string;
  time?: Date;
}

/** A one-shot record: everything but the store's own fields. `id` is generated when absent. */
export type SingleRecord = Omit<AuditRecord, 'id' | 'kind' | 'intent' | 'seq' | 'prev' | 'hash'> & {
  id?: string;
};

/** Looks at the host for an intent that has no outcome; says what it found (or undefined). */
export type IntentChecker = (intent: AuditRecord) => Promise<string | undefined>;

export interface RecoveryReport {
  /** The intents that had no outcome; each now has an `unknown` one. */
  unresolved: AuditRecord[];
  /** Outcome records written (fewer than unresolved when the log could not be written). */
  recorded: number;
}

/** Something an administrator should hear about; the bot forwards these (and the store logs them). */
export interface AuditWarning {
  code:
    | 'unavailable'
    | 'available'
    | 'low-space'
    | 'deleted'
    | 'replaced'
    | 'not-writable'
    | 'corrupt-line'
    | 'unknown-outcome'
    | 'truncated';
  message: string;
  file?: string;
  line?: number;
}

export interface Problem {
  file: string;
  /** 1-based line number in that file. */
  line: number;
  /** The record's id, when the line could be read as a record. */
  id?: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  files: number;
  records: number;
  /** Records from before the chain existed (no seq/hash), at the start of the log. */
  unchained: number;
  /** The first broken link (edited, removed or reordered record, or a corrupt line). */
  first?: Problem;
  /** Every problem found, in file order (at most 100). */
  problems: Problem[];
}

export interface AuditHealth {
  available: boolean;
  /** Why intents are refused, when they are. */
  reason?: string;
  file: string;
  freeBytes?: number;
}

export interface AuditStore {
  /** Opens (or re-checks) the log: identity, writability, free space, the chain's head. Idempotent. */
  open(): Promise<void>;
  /** Writes the intent durably; resolves with its id. Rejects with AuditUnavailable: do not run. */
  begin(intent: Intent): Promise<string>;
  /** Writes an outcome of the intent durably (an intent may get several; the last one counts). */
  finish(intentId: string, outcome: OutcomeInput): Promise<void>;
  /** Writes one self-contained record durably; resolves with its id. */
  record(single: SingleRecord): Promise<string>;
  /** Finishes every intent that has no outcome with `unknown`, asking `check` what the host shows. */
  recover(check?: IntentChecker): Promise<RecoveryReport>;
  /** Newest first, one entry per operation (its latest outcome), filtered. */
  query(filter: AuditFilter): Promise<AuditRecord[]>;
  /** Walks the whole chain; names the first broken link. */
  verify(): Promise<VerifyReport>;
  health(): Promise<AuditHealth>;
  /** Subscribes to warnings; returns the unsubscribe function. */
  onWarning(listener: (warning: AuditWarning) => void): () => void;
  close(): Promise<void>;
}

/**
 * The audit log cannot record this: the command must not run (for `begin`), or its outcome is
 * not acknowledged (for `finish`/`record`). The message is one line, fit for a chat reply.
 */
export class AuditUnavailable extends Error {
  /** errno code of the cause when there is one ('ENOSPC', 'EACCES'), else a store code ('low-space', 'replaced'). */
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message.split('\n')[0]!, options);
    this.name = 'AuditUnavailable';
    this.code = code;
  }
}
