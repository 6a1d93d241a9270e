/**
 * `virtbot replay LOGFILE`: builds the minutes and logs of the meetings in an existing IRC log
 * through the same MeetingManager and state machine as a live meeting.
 *
 * Reads, streaming:
 *   `HH:MM:SS <nick> text`    (MeetBot's own .log.txt, the seed's format; `<@nick>` / `<+nick>` too)
 *   `[HH:MM] <nick> text`, `[HH:MM:SS] <nick> text`, `<nick> text` (time of the previous line)
 *   `HH:MM:SS * nick action`, `[HH:MM] * nick action`, `* nick action`
 * Join/part/quit/mode/"Log opened" lines (`-!-`, `***`, `-->`, `<--`, `--`) are counted as
 * skipped; `--- Day changed Thu Apr 17 2014` moves the date. Anything else is reported as
 * unreadable, with its line number, never silently dropped. Blank lines are ignored.
 *
 * The date: from the bot's "Meeting started Wed Apr 16 13:01:55 2014 UTC" line when the log
 * has one, else `date`, else a YYYY-MM-DD in the file name, else the file's mtime (UTC). A time
 * earlier than the previous line's by more than an hour means the log went past midnight.
 * The bot's nick: `botNick`, else whoever said "Meeting started …", else 'virtbot'; its lines
 * are in the log but are not people and are never commands.
 */
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type IngestResult, MeetingManager } from './manager.js';
import type { Item, Meeting } from './state.js';
import { hms, nickKey, parseAsctime, ymd } from './text.js';

export interface ReplayOptions {
  logFile: string;
  /** The channel the log is from (default: from the file name, e.g. `kimchi-scrum-2014-04-16.txt` → `#kimchi-scrum`). */
  channel?: string;
  /** The bot's nick in the log (default: whoever said "Meeting started …", else 'virtbot'). */
  botNick?: string;
  /** Where the minutes go (CHANNEL/YYYY/NAME.YYYY-MM-DD-HH.MM.*). */
  outDir: string;
  /** YYYY-MM-DD when the log has no "Meeting started" line. */
  date?: string;
  /** Public base URL of outDir, used in the minutes' links to the log (default: file paths). */
  minutesUrl?: string;
}

export interface ReplayMeetingSummary {
  title: string;
  channel: string;
  name: string | null;
  owner: string;
  chairs: string[];
  start: string;
  end: string;
  /** True when the log ended without #endmeeting (the meeting was closed at its last line). */
  unterminated: boolean;
  topics: string[];
  items: { type: Item['type']; text: string; nick: string; time: string; topic: string | null }[];
  actions: number;
  people: { nick: string; count: number }[];
  lines: number;
  files: string[];
}

export interface ReplayResult {
  logFile: string;
  channel: string;
  botNick: string;
  /** The date the log's times were taken on (YYYY-MM-DD) and where it came from. */
  date: string;
  dateSource: 'meeting-started' | 'option' | 'file-name' | 'mtime';
  /** Every file written. */
  files: string[];
  meetings: ReplayMeetingSummary[];
  /** Lines that are not chat lines, with their 1-based line numbers (at most 10 000 kept). */
  unreadable: { line: number; text: string }[];
  unreadableCount: number;
  /** Lines read (blank ones included). */
  lines: number;
  /** Chat and /me lines understood. */
  messages: number;
  /** Join/part/quit/mode/log-opened lines. */
  skipped: number;
  elapsedMs: number;
}

export interface ParsedLine {
  /** Seconds since midnight, or -1 when the line has no time. */
  seconds: number;
  nick: string;
  text: string;
  action: boolean;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isBlank = (c: number): boolean => c === 32 || c === 9;
const BAD_NICK = /[\s<>]/;

/** Where the last `readClock` stopped. */
let clockEnd = 0;

/** Reads `HH:MM(:SS)` at `i`: seconds since midnight (and `clockEnd`), or -1. */
function readClock(s: string, i: number): number {
  let h = 0;
  let j = i;
  while (j < s.length && j - i < 2 && isDigit(s.charCodeAt(j))) h = h * 10 + s.charCodeAt(j++) - 48;
  if (j === i || s.charCodeAt(j) !== 58 || !isDigit(s.charCodeAt(j + 1)) || !isDigit(s.charCodeAt(j + 2)))
    return -1;
  const m = (s.charCodeAt(j + 1) - 48) * 10 + s.charCodeAt(j + 2) - 48;
  j += 3;
  let sec = 0;
  if (s.charCodeAt(j) === 58 && isDigit(s.charCodeAt(j + 1)) && isDigit(s.charCodeAt(j + 2))) {
    sec = (s.charCodeAt(j + 1) - 48) * 10 + s.charCodeAt(j + 2) - 48;
    j += 3;
  }
  if (h > 23 || m > 59 || sec > 60) return -1;
  clockEnd = j;
  return h * 3600 + m * 60 + sec;
}

/**
 * Parses one log line: `[HH:MM(:SS)]` or `HH:MM(:SS)` (optional), then `<nick> text` (a `@+%&~!`
 * prefix on the nick is dropped) or `* nick text`. Null when it is not such a line.
 */
export function parseLogLine(s: string): ParsedLine | null {
  let i = 0;
  let seconds = -1;
  const c0 = s.charCodeAt(0);
  if (c0 === 91 /* [ */) {
    seconds = readClock(s, 1);
    if (seconds < 0 || s.charCodeAt(clockEnd) !== 93 /* ] */) return null;
    i = clockEnd + 1;
    while (isBlank(s.charCodeAt(i))) i++;
  } else if (isDigit(c0)) {
    seconds = readClock(s, 0);
    if (seconds < 0 || !isBlank(s.charCodeAt(clockEnd))) return null;
    i = clockEnd + 1;
    while (isBlank(s.charCodeAt(i))) i++;
  }
  const c = s.charCodeAt(i);
  if (c === 60 /* < */) {
    const close = s.indexOf('>', i + 1);
    if (close < 0) return null;
    let start = i + 1;
    if ('@+%&~!'.includes(s[start] ?? ' ')) start++;
    const nick = s.slice(start, close);
    if (nick === '' || BAD_NICK.test(nick)) return null;
    const after = close + 1;
    if (after < s.length && !isBlank(s.charCodeAt(after))) return null;
    return { seconds, nick, text: after < s.length ? s.slice(after + 1) : '', action: false };
  }
  if (c === 42 /* * */ && isBlank(s.charCodeAt(i + 1))) {
    let j = i + 1;
    while (isBlank(s.charCodeAt(j))) j++;
    let k = j;
    while (k < s.length && !isBlank(s.charCodeAt(k))) k++;
    const nick = s.slice(j, k);
    if (nick === '' || nick.startsWith('*') || BAD_NICK.test(nick)) return null;
    return { seconds, nick, text: k < s.length ? s.slice(k + 1) : '', action: true };
  }
  return null;
}
const EVENT_RE = /^(?:\[?\d{1,2}:\d{2}(?::\d{2})?\]?[ \t]*)?(?:-!-|\*{3}|-->|<--|-{2,3}|=!=)(?:[ \t]|$)/;
const DAY_CHANGED_RE = /Day changed (?:\w+ )?(\w{3}) (\d{1,2}) (\d{4})/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const STARTED_RE =
  /^(?:\[?\d{1,2}:\d{2}(?::\d{2})?\]?[ \t]+)?<[@+%&~!]?([^\s<>]+)> Meeting started ((?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})/m;
const DAY_MS = 86_400_000;
const MAX_UNREADABLE = 10_000;
const READ_BLOCK = 1 << 18;

/** `kimchi-scrum-2014-04-16.txt` → `#kimchi-scrum`; `ubuntu-meeting.2014-04-16-13.01.log.txt` → `#ubuntu-meeting`. */
export function channelFromFileName(file: string): string {
  let b = basename(file).replace(/\.(log\.txt|txt|log)$/i, '');
  b = b.replace(/[-_.]?\d{4}-\d{2}-\d{2}.*$/, '');
  b = b.replace(/^[#&]+/, '').replace(/[-_.]+$/, '');
  return '#' + (b || 'meeting');
}

async function prescan(file: string): Promise<{ started: number | null; bot: string | null }> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(256 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const m = STARTED_RE.exec(buf.subarray(0, bytesRead).toString('utf8'));
    if (!m) return { started: null, bot: null };
    return { started: parseAsctime(m[2]!), bot: m[1]! };
  } finally {
    await fh.close();
  }
}

function midnight(ms: number): number {
  return ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}

function summarize(m: Meeting, files: string[], unterminated: boolean): ReplayMeetingSummary {
  let topic: string | null = null;
  const items: ReplayMeetingSummary['items'] = [];
  const topics: string[] = [];
  for (const it of m.items) {
    if (it.type === 'TOPIC') {
      topic = it.text;
      topics.push(it.text);
      continue;
    }
    items.push({ type: it.type, text: it.text, nick: it.nick, time: hms(it.time), topic });
  }
  const title = m.meetingTopic ?? m.name;
  return {
    title: title ? `${m.channel}: ${title}` : `${m.channel} Meeting`,
    channel: m.channel,
    name: m.name,
    owner: m.owner,
    chairs: m.chairList(),
    start: `${ymd(m.startTime)} ${hms(m.startTime)}`,
    end: `${ymd(m.endTime ?? m.lastTime)} ${hms(m.endTime ?? m.lastTime)}`,
    unterminated,
    topics,
    items,
    actions: m.items.filter((i) => i.type === 'ACTION').length,
    people: [...m.people.values()]
      .sort((a, b) => b.count - a.count || nickKey(a.nick).localeCompare(nickKey(b.nick)))
      .map((p) => ({ nick: p.nick, count: p.count })),
    lines: m.lineCount,
    files,
  };
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const t0 = performance.now();
  const scan = await prescan(opts.logFile);
  const botNick = opts.botNick ?? scan.bot ?? 'virtbot';
  const botKey = nickKey(botNick);
  let channel = opts.channel ?? channelFromFileName(opts.logFile);
  if (!/^[#&!+]/.test(channel)) channel = '#' + channel;

  let day: number;
  let dateSource: ReplayResult['dateSource'];
  const nameDate = /(\d{4})-(\d{2})-(\d{2})/.exec(basename(opts.logFile));
  if (scan.started !== null) {
    day = midnight(scan.started);
    dateSource = 'meeting-started';
  } else if (
    opts.date &&
    /^\d{4}-\d{2}-\d{2}$/.test(opts.date) &&
    Number.isFinite(Date.parse(opts.date + 'T00:00:00Z'))
  ) {
    day = Date.parse(opts.date + 'T00:00:00Z');
    dateSource = 'option';
  } else if (nameDate && Number.isFinite(Date.UTC(+nameDate[1]!, +nameDate[2]! - 1, +nameDate[3]!))) {
    day = Date.UTC(+nameDate[1]!, +nameDate[2]! - 1, +nameDate[3]!);
    dateSource = 'file-name';
  } else {
    day = midnight((await stat(opts.logFile)).mtimeMs);
    dateSource = 'mtime';
  }

  const manager = new MeetingManager({
    minutesDir: opts.outDir,
    botNick,
    mode: 'replay',
    ...(opts.minutesUrl ? { minutesUrl: opts.minutesUrl } : {}),
  });
  const place = `replay::${channel}`;
  const result: ReplayResult = {
    logFile: opts.logFile,
    channel,
    botNick,
    date: ymd(day),
    dateSource,
    files: [],
    meetings: [],
    unreadable: [],
    unreadableCount: 0,
    lines: 0,
    messages: 0,
    skipped: 0,
    elapsedMs: 0,
  };
  let lastOffset = -1; // ms since `day` of the previous timed line
  let lastTime = day;

  const onIngest = (r: IngestResult): void => {
    if (r.files.length) result.files.push(...r.files);
    if (r.ended) result.meetings.push(summarize(r.ended, r.files, false));
  };

  const handle = (raw: string): void => {
    result.lines++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    const m = parseLogLine(text);
    if (!m) {
      if (EVENT_RE.test(text)) {
        result.skipped++;
        const dc = DAY_CHANGED_RE.exec(text);
        if (dc) {
          const month = MONTHS.indexOf(dc[1]!);
          if (month >= 0) {
            day = Date.UTC(Number(dc[3]), month, Number(dc[2]));
            lastOffset = -1;
            lastTime = day;
          }
        }
        return;
      }
      result.unreadableCount++;
      if (result.unreadable.length < MAX_UNREADABLE) result.unreadable.push({ line: result.lines, text });
      return;
    }
    if (m.seconds >= 0) {
      const offset = m.seconds * 1000;
      if (lastOffset >= 0 && offset < lastOffset - 3_600_000) day += DAY_MS;
      lastOffset = offset;
      lastTime = day + offset;
    }
    result.messages++;
    onIngest(
      manager.ingest(place, channel, {
        nick: m.nick,
        text: m.text,
        time: lastTime,
        action: m.action,
        bot: nickKey(m.nick) === botKey,
      }),
    );
  };

  // The file is read in big blocks and cut after its last newline byte: a newline is never
  // part of a multi-byte UTF-8 sequence, so each block decodes on its own (no StringDecoder,
  // no carrying a partial line over as a string).
  const fh = await open(opts.logFile, 'r');
  try {
    let buf = Buffer.allocUnsafe(READ_BLOCK);
    let have = 0; // bytes of an unfinished line at the start of buf
    let first = true;
    for (;;) {
      if (have === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
      const end = have + bytesRead;
      const cut = bytesRead === 0 ? end : buf.lastIndexOf(10, end - 1) + 1;
      if (cut > 0) {
        let data = buf.toString('utf8', 0, cut);
        if (first) {
          if (data.charCodeAt(0) === 0xfeff) data = data.slice(1);
          first = false;
        }
        let start = 0;
        for (let nl = data.indexOf('\n'); nl !== -1; nl = data.indexOf('\n', start)) {
          handle(data.slice(start, nl));
          start = nl + 1;
        }
        if (start < data.length) handle(data.slice(start)); // the last line, without a newline
      }
      if (bytesRead === 0) break;
      buf.copy(buf, 0, cut, end);
      have = end - cut;
    }
  } finally {
    await fh.close();
  }

  for (const { meeting, files } of manager.finishAll()) {
    result.files.push(...files);
    result.meetings.push(summarize(meeting, files, true));
  }
  await manager.close();
  result.elapsedMs = performance.now() - t0;
  return result;
}

/** What `virtbot replay` prints: what was read, each meeting found, the files, the unreadable lines. */
export function formatReplaySummary(result: ReplayResult): string {
  const out: string[] = [];
  const rate = result.elapsedMs > 0 ? Math.round(result.lines / (result.elapsedMs / 1000)) : 0;
  out.push(
    `Replayed ${result.logFile}: ${result.lines} lines (${result.messages} chat lines, ${result.skipped} join/part/status lines, ${result.unreadableCount} unreadable) in ${Math.round(result.elapsedMs)} ms${rate ? ` (${rate} lines/s)` : ''}.`,
  );
  out.push(
    `Channel ${result.channel}, bot ${result.botNick}, date ${result.date} (from ${result.dateSource.replace('-', ' ')}).`,
  );
  if (result.meetings.length === 0) out.push('No meeting found: the log has no #startmeeting line.');
  for (const m of result.meetings) {
    const counts = new Map<string, number>();
    for (const i of m.items) counts.set(i.type, (counts.get(i.type) ?? 0) + 1);
    const itemText = [...counts.entries()].map(([t, n]) => `${n} ${t}`).join(', ') || 'no items';
    out.push(
      `Meeting "${m.title}" started by ${m.owner} at ${m.start} UTC, ended ${m.end} UTC${m.unterminated ? ' (no #endmeeting: closed at the last line)' : ''}.`,
    );
    out.push(
      `  ${m.topics.length} topics, ${m.items.length} items (${itemText}), ${m.actions} action items.`,
    );
    out.push(
      `  People present (lines said): ${m.people.map((p) => `${p.nick} (${p.count})`).join(', ') || '(none)'}`,
    );
    for (const f of m.files) out.push(`  ${f}`);
  }
  if (result.unreadableCount > 0) {
    out.push(`Unreadable lines (${result.unreadableCount}):`);
    for (const u of result.unreadable.slice(0, 50)) {
      const t = u.text.length > 160 ? `${u.text.slice(0, 160)}…` : u.text;
      out.push(`  line ${u.line}: ${JSON.stringify(t)}`);
    }
    if (result.unreadableCount > 50) out.push(`  … and ${result.unreadableCount - 50} more`);
  }
  return out.join('\n');
}
