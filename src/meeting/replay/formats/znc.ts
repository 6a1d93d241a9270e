/**
 * ZNC's log module (one file a day, `#chan_20140416.log`; times `[%H:%M:%S]`):
 *   [13:01:55] <alice> #startmeeting
 *   [13:02:10] * bob waves
 *   [13:02:30] *** Joins: carol (~c@host)
 *   [13:03:00] *** alice is now known as alice_
 * The date is in the file name.
 */
import { stamp, starredBody } from './common.js';
import type { LogFormat, Parsed, Ymd } from './types.js';

const LINE = /^\[(\d{2}:\d{2}:\d{2})\] (.*)$/;

export const znc: LogFormat = {
  name: 'znc',
  describes: 'ZNC log module, default timestamp [%H:%M:%S], one file a day named CHANNEL_YYYYMMDD.log',
  parse(line: string): Parsed | null {
    const m = LINE.exec(line);
    if (!m) return null;
    return starredBody(m[2]!, stamp(m[1]!));
  },
  fileDate(fileName: string): Ymd | null {
    const m = /_(\d{4})(\d{2})(\d{2})\.log$/.exec(fileName);
    return m ? { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) } : null;
  },
};
