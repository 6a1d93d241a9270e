/** Pieces the log formats share: clocks, month names, nick prefixes, "is now known as". */
import type { Parsed, Stamp, Ymd } from './types.js';

export const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** `Apr` / `April` → 4, or 0. */
export function monthOf(name: string): number {
  return MONTHS.indexOf(name.slice(0, 3).toLowerCase()) + 1;
}

/** `13:01` / `13:01:55` → seconds since midnight, or -1. */
export function clock(text: string): number {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return -1;
  const h = Number(m[1]);
  const mi = Number(m[2]);
  const s = Number(m[3] ?? 0);
  if (h > 23 || mi > 59 || s > 60) return -1;
  return h * 3600 + mi * 60 + s;
}

/** `2014-04-16` → date, or null. */
export function isoDate(text: string): Ymd | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const d = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  return d.m >= 1 && d.m <= 12 && d.d >= 1 && d.d <= 31 ? d : null;
}

/** `+0200`, `+02:00`, `-05`, `Z` → minutes east of UTC, or undefined. */
export function offsetOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (!m) return undefined;
  const v = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -v : v;
}

/** A stamp from a date and a clock text, or undefined when the clock is not one. */
export function stamp(time: string, date?: Ymd | null, offset?: string): Stamp | undefined {
  const seconds = clock(time);
  if (seconds < 0) return undefined;
  const s: Stamp = { seconds };
  if (date) s.date = date;
  const o = offsetOf(offset);
  if (o !== undefined) s.offset = o;
  return s;
}

/** Drops a channel-status prefix from a nick (`@alice`, `+bob`, ` carol`). */
export function bareNick(nick: string): string {
  return nick.replace(/^[ @+%&~!]+/, '');
}

/** A plausible nick (no spaces or angle brackets, not empty). */
export function isNick(nick: string): boolean {
  return nick !== '' && !/[\s<>]/.test(nick);
}

const KNOWN_AS = /^(\S+) is now known as (\S+?)\.?$/;

/** `alice is now known as alice_` (after the client's own marker) → a nick change, or null. */
export function knownAs(rest: string, s: Stamp | undefined): Parsed | null {
  const m = KNOWN_AS.exec(rest.trim());
  if (!m) return null;
  const p: Parsed = { kind: 'nick', from: bareNick(m[1]!), to: bareNick(m[2]!) };
  if (s) p.stamp = s;
  return p;
}

/** A message, an action or null, from a nick and text already split by the format. */
export function msg(nick: string, text: string, action: boolean, s: Stamp | undefined): Parsed | null {
  const n = bareNick(nick);
  if (!isNick(n)) return null;
  const p: Parsed = { kind: 'msg', nick: n, text, action };
  if (s) p.stamp = s;
  return p;
}

export function event(s: Stamp | undefined): Parsed {
  return s ? { kind: 'event', stamp: s } : { kind: 'event' };
}

/** `Wed Apr 16 13:01:55 2014` / `Thu Apr 17 2014` (weekday optional) → date, or null. */
export function ctimeDate(text: string): Ymd | null {
  const m =
    /(?:(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)\w* )?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w* +(\d{1,2})(?: \d{2}:\d{2}(?::\d{2})?)? (\d{4})/.exec(
      text,
    );
  if (!m) return null;
  return { y: Number(m[3]), m: monthOf(m[1]!), d: Number(m[2]) };
}

/** `<nick> text` or `* nick action` after the client's time stamp, or null. */
export function saidOrAction(rest: string, s: Stamp | undefined): Parsed | null {
  const said = /^<([^>\s]+)> ?([\s\S]*)$/.exec(rest);
  if (said) return msg(said[1]!, said[2]!, false, s);
  const act = /^\* (\S+) ?([\s\S]*)$/.exec(rest);
  return act ? msg(act[1]!, act[2]!, true, s) : null;
}

/** ZNC's and Limnoria's line body: said or action, `*** status` (a nick change or an event), `-nick- notice`. */
export function starredBody(rest: string, s: Stamp | undefined): Parsed | null {
  if (rest.startsWith('*** ')) return knownAs(rest.slice(4), s) ?? event(s);
  const p = saidOrAction(rest, s);
  if (p) return p;
  return /^-\S+- /.test(rest) ? event(s) : null;
}

/** An action whose nick and text are one tab-separated column (`bob waves`). */
export function actionText(text: string, s: Stamp | undefined): Parsed | null {
  const sp = text.indexOf(' ');
  return msg(sp < 0 ? text : text.slice(0, sp), sp < 0 ? '' : text.slice(sp + 1), true, s);
}
