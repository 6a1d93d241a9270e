/**
 * One IRC client's log format: how to read a line of it. Each format is a small module here;
 * `index.ts` lists them, auto-detects the one a log is in, and `--format` forces one.
 */

/** A calendar date (month 1-12). */
export interface Ymd {
  y: number;
  m: number;
  d: number;
}

/** When a line was said, as far as the line itself tells. */
export interface Stamp {
  /** Seconds since local midnight. */
  seconds: number;
  /** The date, when the line carries it. */
  date?: Ymd;
  /** Minutes east of UTC, when the line carries an offset (`+0200`). */
  offset?: number;
}

export type Parsed =
  /** A person (or the bot) said something; `action` for /me. */
  | { kind: 'msg'; stamp?: Stamp; nick: string; text: string; action: boolean }
  /** `alice is now known as alice_`. */
  | { kind: 'nick'; stamp?: Stamp; from: string; to: string }
  /** A line that only tells the date (`--- Day changed`, `--- Log opened`, `**** BEGIN LOGGING`). */
  | { kind: 'date'; date: Ymd; stamp?: Stamp }
  /** Joins, parts, quits, modes, topics, client notices: read, not part of the meeting. */
  | { kind: 'event'; stamp?: Stamp };

export interface LogFormat {
  /** The name `--format` takes. */
  name: string;
  /** The client and its default setting this reads, for `--help` and the docs. */
  describes: string;
  /** Reads one line (no line end), or null when it is not a line of this format. */
  parse(line: string): Parsed | null;
  /** A date in the log's file name (ZNC: `#chan_20140416.log`), if the format names files so. */
  fileDate?(fileName: string): Ymd | null;
}
