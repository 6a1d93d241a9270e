/**
 * Limnoria's ChannelLogger (MeetBot's sister plugin; `supybot.log.timestampFormat`
 * '%Y-%m-%dT%H:%M:%S', two spaces before the line):
 *   2014-04-16T13:01:55  <alice> #startmeeting
 *   2014-04-16T13:02:10  * bob waves
 *   2014-04-16T13:02:30  *** carol <carol!~c@host> has joined #kimchi
 *   2014-04-16T13:03:00  *** alice is now known as alice_
 */
import { isoDate, stamp, starredBody } from './common.js';
import type { LogFormat, Parsed } from './types.js';

const LINE = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})([+-]\d{2}:?\d{2}|Z)? {2}(.*)$/;

export const limnoria: LogFormat = {
  name: 'limnoria',
  describes: "Limnoria/Supybot ChannelLogger, timestampFormat '%Y-%m-%dT%H:%M:%S'",
  parse(line: string): Parsed | null {
    const m = LINE.exec(line);
    if (!m) return null;
    const s = stamp(m[2]!, isoDate(m[1]!), m[3]);
    if (!s?.date) return null;
    return starredBody(m[4]!, s);
  },
};
