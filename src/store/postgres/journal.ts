/**
 * Meeting journals in PostgreSQL (the JournalStore contract is in src/meeting/journal-store.ts,
 * the entries in src/meeting/journal.ts), so that any virtbot can reopen an open meeting and go
 * on with it when the one running it stops.
 *
 * `append` numbers each entry at once (the meeting goes on in memory), queues it and starts a
 * write of the queue on the next microtask; `flush` resolves only once everything appended so
 * far is committed: that is when an entry counts. What could not be written stays queued, in order, for the next flush. A new
 * journal's row is made by its first flush, in the same transaction as its first entries, so a
 * journal is never seen without its head.
 *
 * Each entry has its number in its journal: a retried flush whose first try did commit (the
 * connection dropped after COMMIT) finds the same entries there and counts them as written; an
 * entry of another content at that number means another virtbot continued this journal, and
 * this writer stops (fail closed: the minutes keep one history, not two interleaved).
 */
import type pg from 'pg';
import type { JournalEntry, JournalFile, JournalHead } from '../../meeting/journal.js';
import type { JournalStore, JournalWriter } from '../../meeting/journal-store.js';
import { describeDbError, isConnectionError, transaction } from './db.js';

export interface PgJournalOptions {
  pool: pg.Pool;
  /** Told when something done in the background (removing a finished journal) fails. */
  warn?: (error: unknown, what: string) => void;
}

/** The journal was ended, replaced or continued elsewhere: this writer can never write again. */
export class JournalLost extends Error {}

interface Queued {
  n: number;
  entry: JournalEntry;
}

/** Tries to remove or set aside a journal this often before leaving it to be found at restore. */
const BACKGROUND_TRIES = 5;

class PgJournalWriter implements JournalWriter {
  private queue: Queued[] = [];
  /** Flushes, removals and set-asides run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private lost: Error | null = null;

  constructor(
    private readonly options: PgJournalOptions,
    private readonly placeKey: string,
    /** The row, once made (a created journal has none until its first flush). */
    private id: string | null,
    private next: number,
  ) {}

  append(entry: JournalEntry): void {
    if (this.closed || this.lost) return;
    this.queue.push({ n: this.next++, entry });
    // Written soon even when nobody awaits a flush (the bot's own lines arrive as 'sent' events
    // after the turn's flush): a process killed a moment later has them in the journal.
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.queue.length > 0) this.flush().catch(() => undefined);
    });
  }

  private scheduled = false;

  flush(): Promise<void> {
    const run = this.chain.then(() => this.write());
    this.chain = run.catch(() => undefined);
    return run;
  }

  close(): void {
    // Entries not yet flushed were never acknowledged: whoever continues the meeting goes on from what was committed.
    this.closed = true;
    this.queue = [];
  }

  remove(): void {
    this.closed = true;
    this.queue = [];
    this.background('remove the journal of the meeting that ended', (client, id) =>
      client.query('DELETE FROM meeting_journals WHERE id = $1', [id]),
    );
  }

  setAside(): void {
    this.closed = true;
    this.background('set aside the journal of the meeting whose minutes could not be written', (client, id) =>
      client.query(`UPDATE meeting_journals SET state = 'unsaved' WHERE id = $1`, [id]),
    );
  }

  /** Runs after what is queued is written (set aside keeps every entry), retried a few times. */
  private background(what: string, fn: (client: pg.PoolClient, id: string) => Promise<unknown>): void {
    const pending = this.queue.length > 0;
    const run = async (): Promise<void> => {
      let last: unknown;
      for (let attempt = 0; attempt < BACKGROUND_TRIES; attempt++) {
        try {
          if (pending || this.queue.length) await this.write(true);
          if (this.id === null) return;
          const id = this.id;
          await transaction(this.options.pool, (client) => fn(client, id));
          return;
        } catch (error) {
          last = error;
          if (!isConnectionError(error)) break;
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        }
      }
      // Left as it is: a reopened journal that ended writes its minutes again (MeetingManager.restore).
      this.options.warn?.(last, `could not ${what} (${describeDbError(last)})`);
    };
    this.chain = this.chain.then(run);
  }

  private async write(evenClosed = false): Promise<void> {
    if (this.lost) throw this.lost;
    if ((this.closed && !evenClosed) || this.queue.length === 0) return;
    const batch = this.queue.slice();
    try {
      await transaction(this.options.pool, async (client) => {
        if (this.id === null) {
          // A new meeting in this place replaces an old open journal of it (as the file is truncated).
          await client.query(`DELETE FROM meeting_journals WHERE place_key = $1 AND state = 'open'`, [
            this.placeKey,
          ]);
          const made = await client.query<{ id: string }>(
            'INSERT INTO meeting_journals (place_key) VALUES ($1) RETURNING id',
            [this.placeKey],
          );
          this.pendingId = made.rows[0]!.id;
        }
        const id = this.id ?? this.pendingId!;
        // An entry already there with the same content is this writer's own (a retried commit).
        const written = await client.query(
          `INSERT INTO meeting_journal_entries (journal, n, entry)
           SELECT $1, x.n, x.entry FROM jsonb_to_recordset($2::jsonb) AS x(n integer, entry jsonb)
           ON CONFLICT (journal, n) DO UPDATE SET entry = EXCLUDED.entry
             WHERE meeting_journal_entries.entry = EXCLUDED.entry
           RETURNING n`,
          [id, JSON.stringify(batch)],
        );
        if (written.rowCount !== batch.length)
          throw new JournalLost(
            `the journal of the meeting in ${this.placeKey} was continued by another virtbot`,
          );
      });
    } catch (error) {
      this.pendingId = null;
      const e = error as { code?: string };
      // 23503: the journal's row is gone (the meeting was ended or restarted elsewhere).
      if (error instanceof JournalLost || e.code === '23503') {
        this.lost =
          error instanceof JournalLost
            ? error
            : new JournalLost(`the journal of the meeting in ${this.placeKey} was ended by another virtbot`);
        this.queue = [];
        throw this.lost;
      }
      throw new Error(`the meeting journal cannot be written: ${describeDbError(error)}`, { cause: error });
    }
    if (this.id === null) this.id = this.pendingId;
    this.pendingId = null;
    this.queue.splice(0, batch.length);
  }

  /** The row made by a flush whose transaction has not committed yet. */
  private pendingId: string | null = null;
}

interface EntryRow {
  id: string;
  place_key: string;
  n: number;
  entry: JournalEntry;
}

export class PostgresJournalStore implements JournalStore {
  constructor(private readonly options: PgJournalOptions) {}

  create(placeKey: string): JournalWriter {
    return new PgJournalWriter(this.options, placeKey, null, 0);
  }

  reopen(file: JournalFile): JournalWriter {
    if (!file.stored) throw new Error(`the journal of ${file.place} is not one of PostgreSQL's`);
    return new PgJournalWriter(this.options, file.place, file.stored.id, file.stored.next);
  }

  async read(prefix = ''): Promise<JournalFile[]> {
    const { rows } = await this.options.pool.query<EntryRow>(
      `SELECT j.id, j.place_key, e.n, e.entry
         FROM meeting_journals j JOIN meeting_journal_entries e ON e.journal = j.id
        WHERE j.state = 'open' AND starts_with(j.place_key, $1)
        ORDER BY j.id, e.n`,
      [prefix],
    );
    const byId = new Map<string, EntryRow[]>();
    for (const row of rows) {
      const list = byId.get(row.id) ?? [];
      list.push(row);
      byId.set(row.id, list);
    }
    const out: JournalFile[] = [];
    for (const [id, list] of byId) {
      const head = list[0]!.entry;
      if (head.k !== 'meeting' || list[0]!.n !== 0) continue;
      out.push({
        path: `postgres:meeting_journals/${id}`,
        place: list[0]!.place_key,
        channel: (head as JournalHead).channel,
        head: head as JournalHead,
        entries: list.slice(1).map((r) => r.entry),
        bad: 0,
        stored: { id, next: list[list.length - 1]!.n + 1 },
      });
    }
    return out.sort((a, b) => a.place.localeCompare(b.place));
  }
}
