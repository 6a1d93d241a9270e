/**
 * WeeChat's logger plugin (`logger.file.time_format = "%Y-%m-%d %H:%M:%S"`): time, prefix and
 * message separated by tabs.
 *   2014-04-16 13:01:55	@alice	#startmeeting
 *   2014-04-16 13:02:10	 *	bob waves
 *   2014-04-16 13:02:30	-->	carol (~c@host) has joined #kimchi
 *   2014-04-16 13:03:00	--	alice is now known as alice_
 *   2014-04-16 13:03:00	<--	dave (~d@host) has quit (Ping timeout)
 * A time_format with `%z` (`… 13:01:55 +0200`) gives the offset.
 */
import { actionText, event, isoDate, knownAs, msg, stamp } from './common.js';
import type { LogFormat, Parsed } from './types.js';

const LINE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?: ?([+-]\d{2}:?\d{2}|Z))?\t([^\t]*)\t([\s\S]*)$/;

export const weechat: LogFormat = {
  name: 'weechat',
  describes: "WeeChat logger, logger.file.time_format '%Y-%m-%d %H:%M:%S' (with or without %z)",
  parse(line: string): Parsed | null {
    const m = LINE.exec(line);
    if (!m) return null;
    const s = stamp(m[2]!, isoDate(m[1]!), m[3]);
    if (!s?.date) return null;
    const prefix = m[4]!;
    const text = m[5]!;
    if (prefix === ' *' || prefix === '*') {
      return actionText(text, s);
    }
    if (prefix === '--' || prefix === '-->' || prefix === '<--' || prefix === '=!=' || prefix === '') {
      return knownAs(text, s) ?? event(s);
    }
    return msg(prefix, text, false, s);
  },
};
