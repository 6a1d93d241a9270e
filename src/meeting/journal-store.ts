/**
 * Where open meetings are journaled (the entries are in journal.ts). The embedded default keeps
 * one file per place under `dataDir/meetings/` (`FileJournalStore`, each entry fdatasync'd as it
 * is appended); PostgreSQL keeps them in tables (src/store/postgres/journal.ts), so that another
 * virtbot can continue a meeting when the one running it stops.
 *
 * A writer's `append` takes effect in order at once (the meeting goes on); `flush` resolves once
 * every entry appended so far is durable, and the manager awaits it before a line's replies go
 * out. An entry that could not be made durable stays queued and is written by the next flush.
 */
import { Journal, type JournalEntry, type JournalFile, readJournals } from './journal.js';

export interface JournalWriter {
  append(entry: JournalEntry): void;
  /** Resolves once every entry appended so far is durable; rejects when they cannot be made so (yet). */
  flush(): Promise<void>;
  /** Stops writing (the journal stays, for whoever continues the meeting). */
  close(): void;
  /** The meeting is over and its minutes written: the journal goes. */
  remove(): void;
  /** The minutes could not be written: the journal is kept aside, so that nothing is lost. */
  setAside(): void;
}

export interface JournalStore {
  /** Starts the journal of a place (an old open one of that place is replaced). */
  create(placeKey: string): JournalWriter;
  /** Appends to the journal read as `file`. */
  reopen(file: JournalFile): JournalWriter;
  /** The journals of open meetings whose place key starts with `prefix` ('' for all). */
  read(prefix?: string): Promise<JournalFile[]>;
  /** The same, at once (files only: the manager restores them as it is built). */
  readSync?(): JournalFile[];
}

/** The embedded default: `dataDir/meetings/*.jsonl` (journal.ts). */
export class FileJournalStore implements JournalStore {
  constructor(
    private readonly dataDir: string,
    private readonly sync = true,
  ) {}

  create(placeKey: string): JournalWriter {
    return new Journal(this.dataDir, placeKey, this.sync, true);
  }

  reopen(file: JournalFile): JournalWriter {
    return new Journal(this.dataDir, file.place, this.sync, false);
  }

  async read(prefix = ''): Promise<JournalFile[]> {
    return this.readSync().filter((f) => f.place.startsWith(prefix));
  }

  readSync(): JournalFile[] {
    return readJournals(this.dataDir);
  }
}
