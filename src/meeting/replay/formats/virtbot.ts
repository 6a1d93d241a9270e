/**
 * virtbot's and MeetBot's own raw log (`.log.txt`), and the plain shapes many clients share:
 *   13:01:55 <alice> #startmeeting        [13:01] <@alice> …      <alice> … (no time: the previous line's)
 *   13:02:10 * bob waves                   [13:02] * bob waves
 * Status lines (`-!-`, `***`, `-->`, `<--`, `--`, `=!=`) are read as events ("is now known as" as a
 * nick change); `--- Day changed Thu Apr 17 2014` and `--- Log opened …` give the date.
 */
import { clock, ctimeDate, event, knownAs, msg } from './common.js';
import type { LogFormat, Parsed, Stamp } from './types.js';

const TIME = /^(?:\[(\d{1,2}:\d{2}(?::\d{2})?)\]|(\d{1,2}:\d{2}(?::\d{2})?)(?=[ \t]))[ \t]*/;
const SAID = /^<[ @+%&~!]?([^>\s]+)>(?:[ \t]([\s\S]*))?$/;
const ACTION = /^\*[ \t]+([^*\s]\S*)(?:[ \t]([\s\S]*))?$/;
const STATUS = /^(?:-!-|\*{3}|-->|<--|-{2,3}|=!=)(?:[ \t]+([\s\S]*))?$/;

export const virtbot: LogFormat = {
  name: 'virtbot',
  describes: "virtbot's and MeetBot's .log.txt (HH:MM:SS <nick> text), and [HH:MM] <nick> text",
  parse(line: string): Parsed | null {
    let rest = line;
    let s: Stamp | undefined;
    const t = TIME.exec(line);
    if (t) {
      const seconds = clock(t[1] ?? t[2]!);
      if (seconds < 0) return null;
      s = { seconds };
      rest = line.slice(t[0].length);
    }
    const said = SAID.exec(rest);
    if (said) return msg(said[1]!, said[2] ?? '', false, s);
    const act = ACTION.exec(rest);
    if (act) return msg(act[1]!, act[2] ?? '', true, s);
    const st = STATUS.exec(rest);
    if (st) {
      const body = st[1] ?? '';
      if (/^(Log opened|Log closed|Day changed) /.test(body)) {
        const date = ctimeDate(body);
        return date ? { kind: 'date', date } : event(s);
      }
      return knownAs(body, s) ?? event(s);
    }
    return null;
  },
};
