/**
 * The journal of an open meeting: one JSON object per line under `dataDir/meetings/`, one
 * file per place, appended (and fdatasync'd) before each line takes effect. After a restart
 * the MeetingManager feeds the journal back through the state machine, so the meeting goes
 * on with every line in its minutes. The file is removed once the minutes are written at
 * #endmeeting.
 *
 * Entries:
 *   {"k":"meeting","v":2,"place":"irc:net:#chan","channel":"#chan","p":{…Place},
 *    "carried":[…],"topic":"old topic"}                               first line (v1: no p/carried/topic)
 *   {"k":"line","n":"alice","x":"!vm list","c":"vm list","p":"account:net:alice","t":1397653315000}
 *       a line said: x as said, c the command text when it differs, p the proven person ("a":1 for /me)
 *   {"k":"line","n":"virtbot","x":"Current topic: x","t":…,"b":1}     a line the bot sent
 *   {"k":"op","n":"alice","x":"alice: vm start web01 → ok","t":…,"o":"ok"}  an operation record
 *   {"k":"nick","f":"alice","n":"alice_","t":…}                       a nick change
 *   {"k":"loc","x":"scrum.2014-04-16-13.01-2","m":"scrum"}           the files' basename, claimed
 *   {"k":"end","by":"admin","t":…,"h":"admin"|"idle"}                 ended without #endmeeting
 * A torn last line (crash during a write) is ignored on reading.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Place } from '../core/types.js';
import type { CarriedAction } from './state.js';
import { safeFileComponent } from './text.js';

export interface JournalHead {
  k: 'meeting';
  v: 1 | 2;
  place: string;
  channel: string;
  p?: Place;
  carried?: CarriedAction[];
  topic?: string | null;
}

export type JournalEntry =
  | JournalHead
  | { k: 'line'; n: string; x: string; t: number; c?: string; p?: string; a?: 1; b?: 1 }
  | { k: 'op'; n: string; x: string; t: number; o: string }
  | { k: 'nick'; f: string; n: string; t: number }
  | { k: 'loc'; x: string; m: string | null }
  | { k: 'end'; by: string; t: number; h: 'admin' | 'idle' };

export function journalDir(dataDir: string): string {
  return join(dataDir, 'meetings');
}

export function journalPath(dataDir: string, placeKey: string): string {
  const hash = createHash('sha256').update(placeKey).digest('hex').slice(0, 12);
  return join(journalDir(dataDir), `${safeFileComponent(placeKey, 'place')}-${hash}.jsonl`);
}

export class Journal {
  readonly path: string;
  private fd: number | null;
  private readonly sync: boolean;

  /** Opens (creating or appending to) the journal of a place. */
  constructor(dataDir: string, placeKey: string, sync = true, truncate = false) {
    mkdirSync(journalDir(dataDir), { recursive: true });
    this.path = journalPath(dataDir, placeKey);
    this.fd = openSync(this.path, truncate ? 'w' : 'a', 0o600);
    this.sync = sync;
  }

  append(entry: JournalEntry): void {
    if (this.fd === null) return;
    writeSync(this.fd, JSON.stringify(entry) + '\n');
    if (this.sync) fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Every entry is fdatasync'd as it is appended: nothing is left to wait for. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** The meeting is over and its minutes written: the journal goes. */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  /** Keeps the journal aside (`.unsaved`) when the minutes could not be written, so nothing is lost. */
  setAside(): void {
    this.close();
    try {
      renameSync(this.path, `${this.path}.unsaved-${Date.now()}`);
    } catch {
      /* already gone */
    }
  }
}

export interface JournalFile {
  path: string;
  place: string;
  channel: string;
  head: JournalHead;
  entries: JournalEntry[];
  /** Lines that could not be parsed (a torn last line is normal after a crash). */
  bad: number;
  /** A journal kept in a database: its row, and the number its next entry takes. */
  stored?: { id: string; next: number };
}

/** Reads every open-meeting journal under dataDir. */
export function readJournals(dataDir: string): JournalFile[] {
  let names: string[];
  try {
    names = readdirSync(journalDir(dataDir));
  } catch {
    return [];
  }
  const out: JournalFile[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.jsonl')) continue;
    const path = join(journalDir(dataDir), name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    const entries: JournalEntry[] = [];
    let bad = 0;
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      try {
        const e = JSON.parse(raw) as JournalEntry;
        if (e && typeof e === 'object' && typeof e.k === 'string') entries.push(e);
        else bad++;
      } catch {
        bad++;
      }
    }
    const head = entries[0];
    if (head?.k !== 'meeting') continue;
    out.push({ path, place: head.place, channel: head.channel, head, entries: entries.slice(1), bad });
  }
  return out;
}
