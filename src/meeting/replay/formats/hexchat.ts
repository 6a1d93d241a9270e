/**
 * HexChat's text logs (`stamp_log_format` '%b %d %H:%M:%S'; a tab after the nick column):
 *   **** BEGIN LOGGING AT Wed Apr 16 13:01:50 2014
 *   Apr 16 13:01:55 <alice>	#startmeeting
 *   Apr 16 13:02:10 *	bob waves
 *   Apr 16 13:02:30 -->	carol (~c@host) has joined #kimchi
 *   Apr 16 13:03:00 ---	alice is now known as alice_
 * The year comes from the BEGIN LOGGING line.
 */
import { actionText, ctimeDate, event, knownAs, monthOf, msg, stamp } from './common.js';
import type { LogFormat, Parsed } from './types.js';

const LINE = /^([A-Z][a-z]{2}) (\d{1,2}) (\d{2}:\d{2}:\d{2}) ([^\t]*)\t([\s\S]*)$/;

export const hexchat: LogFormat = {
  name: 'hexchat',
  describes: "HexChat logs, stamp_log_format '%b %d %H:%M:%S'",
  parse(line: string): Parsed | null {
    if (line.startsWith('**** ')) {
      const date = /^\*\*\*\* (BEGIN|ENDING) LOGGING AT /.test(line) ? ctimeDate(line) : null;
      return date ? { kind: 'date', date } : null;
    }
    const m = LINE.exec(line);
    if (!m) return null;
    const month = monthOf(m[1]!);
    if (month === 0) return null;
    // The year is not in the line: the reader keeps the one it knows (y: 0).
    const s = stamp(m[3]!, { y: 0, m: month, d: Number(m[2]) });
    const col = m[4]!;
    const text = m[5]!;
    const said = /^<([^>\s]+)>$/.exec(col);
    if (said) return msg(said[1]!, text, false, s);
    if (col === '*') {
      return actionText(text, s);
    }
    if (col === '-->' || col === '<--' || col === '---' || col === '-' || /^-\S+-$/.test(col)) {
      return knownAs(text, s) ?? event(s);
    }
    return null;
  },
};
