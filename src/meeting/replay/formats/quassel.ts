/**
 * Quassel's chat log export ("Save chat log"; its default timestamp `[hh:mm:ss]`):
 *   [13:01:55] <alice> #startmeeting
 *   [13:02:10] -*- bob waves
 *   [13:02:30] --> carol (~c@host) has joined #kimchi
 *   [13:03:00] <-> alice is now known as alice_
 *   [13:04:00] <-- dave (~d@host) has quit (Quit: bye)
 *   [13:05:00] *** Mode #kimchi +o alice by ChanServ
 *   {Day changed to Thursday, April 17, 2014}
 */
import { event, knownAs, monthOf, msg, stamp } from './common.js';
import type { LogFormat, Parsed, Ymd } from './types.js';

const LINE = /^\[(\d{2}:\d{2}:\d{2})\] (.*)$/;

/** `Thursday, April 17, 2014` / `Thursday, 17 April 2014` / `2014-04-17` → date. */
function longDate(text: string): Ymd | null {
  let m = /(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (m) return { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  m = /([A-Za-z]+) (\d{1,2}),? (\d{4})/.exec(text);
  if (m && monthOf(m[1]!) > 0) return { y: Number(m[3]), m: monthOf(m[1]!), d: Number(m[2]) };
  m = /(\d{1,2})\.? ([A-Za-z]+),? (\d{4})/.exec(text);
  if (m && monthOf(m[2]!) > 0) return { y: Number(m[3]), m: monthOf(m[2]!), d: Number(m[1]) };
  return null;
}

export const quassel: LogFormat = {
  name: 'quassel',
  describes: 'Quassel chat log export, timestamp [hh:mm:ss]',
  parse(line: string): Parsed | null {
    const day = /^\{Day changed to (.+)\}$/.exec(line);
    if (day) {
      const date = longDate(day[1]!);
      return date ? { kind: 'date', date } : { kind: 'event' };
    }
    const m = LINE.exec(line);
    if (!m) return null;
    const s = stamp(m[1]!);
    const rest = m[2]!;
    const said = /^<([^>\s]+)> ?([\s\S]*)$/.exec(rest);
    if (said && said[1] !== '-' && said[1] !== '->' && said[1] !== '--')
      return msg(said[1]!, said[2]!, false, s);
    const act = /^-\*- (\S+) ?([\s\S]*)$/.exec(rest);
    if (act) return msg(act[1]!, act[2]!, true, s);
    const marker = /^(<->|-->|<--|\*\*\*|-!-) ?([\s\S]*)$/.exec(rest);
    if (marker) return knownAs(marker[2]!, s) ?? event(s);
    return null;
  },
};
