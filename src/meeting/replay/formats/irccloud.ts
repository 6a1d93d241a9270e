/**
 * irccloud's log export (a zip of one text file per channel and day):
 *   [2014-04-16 13:01:55] <alice> #startmeeting
 *   [2014-04-16 13:02:10] * bob waves
 *   [2014-04-16 13:02:30] → carol joined (~c@host)
 *   [2014-04-16 13:03:00] alice is now known as alice_
 *   [2014-04-16 13:04:00] ← dave quit (Ping timeout)
 * Times are UTC unless the export says otherwise (`--tz`).
 */
import { event, isoDate, knownAs, saidOrAction, stamp } from './common.js';
import type { LogFormat, Parsed } from './types.js';

const LINE = /^\[(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})\] (.*)$/;

export const irccloud: LogFormat = {
  name: 'irccloud',
  describes: 'irccloud log export, [YYYY-MM-DD HH:MM:SS] lines',
  parse(line: string): Parsed | null {
    const m = LINE.exec(line);
    if (!m) return null;
    const s = stamp(m[2]!, isoDate(m[1]!));
    if (!s?.date) return null;
    const rest = m[3]!;
    const p = saidOrAction(rest, s);
    if (p) return p;
    if (/^(→|←|⇐|⇒|—|\*\*\*) /.test(rest)) return knownAs(rest.replace(/^\S+ /, ''), s) ?? event(s);
    return (
      knownAs(rest, s) ??
      (/ (joined|quit|left|set the topic|set mode|changed the topic)\b/.test(rest) ? event(s) : null)
    );
  },
};
