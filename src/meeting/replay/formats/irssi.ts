/**
 * irssi's autolog with its default theme (`log_timestamp = "%H:%M "`):
 *   --- Log opened Wed Apr 16 13:01:50 2014
 *   13:01 < alice> hello            (the space is the nick-mode column: no mode)
 *   13:01 <@alice> #startmeeting    (op; `+` voice, `%` halfop)
 *   13:02  * bob waves
 *   13:02 -!- carol [~c@host] has joined #kimchi
 *   13:03 -!- alice is now known as alice_
 *   --- Day changed Thu Apr 17 2014
 * A `log_timestamp` with seconds (`%H:%M:%S `) reads the same.
 */
import { ctimeDate, event, knownAs, msg, stamp } from './common.js';
import type { LogFormat, Parsed } from './types.js';

const LINE = /^(\d{1,2}:\d{2}(?::\d{2})?) (.*)$/;
const SAID = /^<([ @+%&~!]?)([^>\s]+)> ?([\s\S]*)$/;
const ACTION = /^ {0,2}\* (\S+) ?([\s\S]*)$/;

export const irssi: LogFormat = {
  name: 'irssi',
  describes: "irssi autolog, default theme and log_timestamp '%H:%M '",
  parse(line: string): Parsed | null {
    if (line.startsWith('--- ')) {
      const rest = line.slice(4);
      if (/^(Log opened|Log closed|Day changed) /.test(rest)) {
        const date = ctimeDate(rest);
        return date ? { kind: 'date', date } : { kind: 'event' };
      }
      return null;
    }
    const m = LINE.exec(line);
    if (!m) return null;
    const s = stamp(m[1]!);
    if (!s) return null;
    const rest = m[2]!;
    const said = SAID.exec(rest);
    if (said) return msg(said[2]!, said[3]!, false, s);
    const act = ACTION.exec(rest);
    if (act) return msg(act[1]!, act[2]!, true, s);
    if (rest.startsWith('-!- ')) return knownAs(rest.slice(4), s) ?? event(s);
    if (/^-[^\s-][^-]*- /.test(rest)) return event(s); // -nick(user@host)- a notice
    return null;
  },
};
