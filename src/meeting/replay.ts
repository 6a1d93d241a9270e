/**
 * `virtbot replay LOGFILE`: builds the minutes and logs of the meetings in an existing IRC log
 * through the same MeetingManager and state machine as a live meeting.
 *
 * The log's format is detected (replay/formats: irssi, WeeChat, ZNC, Limnoria ChannelLogger,
 * HexChat, Quassel, irccloud, virtbot's and MeetBot's own .log.txt) or forced (`format`).
 * Join/part/quit/mode lines are counted as skipped; "is now known as" lines are nick changes
 * (the person keeps their chair and their lines). Anything else is reported as unreadable, with
 * its line number, never silently dropped. Blank lines are ignored. A line that is not UTF-8 is
 * read as cp1252 (what Windows clients and old irssi setups write), with a warning.
 *
 * The date: `date` (YYYY-MM-DD) for the lines before the log says one; else the log's own date
 * lines (`--- Log opened`, `--- Day changed`, `**** BEGIN LOGGING`, full timestamps); else the
 * bot's "Meeting started Wed Apr 16 13:01:55 2014 UTC"; else a date in the file name; else the
 * file's mtime (with a warning). A time earlier than the previous line's by more than an hour
 * means the log went past midnight. Times are in `tz` (an IANA zone, default UTC) unless a line
 * carries its offset; the minutes are in UTC.
 * The bot's nick: `botNick`, else whoever said "Meeting started …", else 'virtbot'; its lines
 * are in the log but are not people and are never commands.
 */
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type IngestResult, MeetingManager } from './manager.js';
import { personLabels } from './minutes.js';
import { detectFormat, type LogFormat, logFormat, type Parsed, type Ymd } from './replay/formats/index.js';
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
  /** The IANA time zone the log's times are in (default UTC). */
  tz?: string;
  /** The log format's name (default: detected). */
  format?: string;
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
  dateSource: 'option' | 'log' | 'meeting-started' | 'file-name' | 'mtime';
  /** The format read, and whether it was detected (how many sample lines it read) or forced. */
  format: string;
  formatDetected: { read: number; of: number } | null;
  tz: string;
  /** Things the reader had to guess or repair (cp1252 lines, a date from the mtime). */
  warnings: string[];
  /** Lines that were not UTF-8 and were read as cp1252. */
  cp1252Lines: number;
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
  /** Nick changes followed. */
  nickChanges: number;
  elapsedMs: number;
}

const DAY_MS = 86_400_000;
const MAX_UNREADABLE = 10_000;
const READ_BLOCK = 1 << 18;
const STARTED_RE =
  /^Meeting started ((?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})/;

/** `kimchi-scrum-2014-04-16.txt` → `#kimchi-scrum`; `ubuntu-meeting.2014-04-16-13.01.log.txt` → `#ubuntu-meeting`; `#kimchi_20140416.log` → `#kimchi`. */
export function channelFromFileName(file: string): string {
  let b = basename(file).replace(/\.(log\.txt|txt|log)$/i, '');
  b = b.replace(/[-_.]?\d{4}-?\d{2}-?\d{2}.*$/, '');
  b = b.replace(/^[#&]+/, '').replace(/[-_.]+$/, '');
  return '#' + (b || 'meeting');
}

/** Epoch ms of local wall time `localMs` (as if it were UTC) in time zone `tz`. */
export function zonedToUtc(localMs: number, tz: string): number {
  if (tz === 'UTC' || tz === 'Etc/UTC') return localMs;
  const offset = (utc: number): number => {
    const parts = zoneFormat(tz).formatToParts(new Date(utc));
    const v = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    return (
      Date.UTC(v('year'), v('month') - 1, v('day'), v('hour') % 24, v('minute'), v('second')) -
      Math.floor(utc / 1000) * 1000
    );
  };
  let utc = localMs - offset(localMs);
  utc = localMs - offset(utc);
  return utc;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
function zoneFormat(tz: string): Intl.DateTimeFormat {
  let f = zoneFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormats.set(tz, f);
  }
  return f;
}

/** Throws a readable error for a time zone Intl does not know. */
export function checkTimeZone(tz: string): void {
  try {
    zoneFormat(tz);
  } catch {
    throw new Error(`unknown time zone '${tz}' (use an IANA name like Europe/Paris or UTC)`);
  }
}

const dayOf = (d: Ymd): number => Date.UTC(d.y, d.m - 1, d.d) / DAY_MS;

function dayBefore(d: Ymd): Ymd {
  const t = new Date(Date.UTC(d.y, d.m - 1, d.d) - DAY_MS);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

interface Prescan {
  started: number | null;
  bot: string | null;
  firstDate: Ymd | null;
  format: LogFormat;
  detected: { read: number; of: number } | null;
}

async function prescan(file: string, forced: LogFormat | undefined): Promise<Prescan> {
  const fh = await open(file, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(256 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
  const lines = text.split(/\r?\n/);
  if (lines.length > 1) lines.pop(); // maybe cut in the middle
  if (lines[0]?.charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  const det = forced ? null : detectFormat(lines);
  const format = forced ?? det!.format;
  let started: number | null = null;
  let bot: string | null = null;
  let firstDate: Ymd | null = null;
  let timedBefore = false;
  for (const l of lines) {
    const p = format.parse(l);
    if (!p) continue;
    if (!firstDate) {
      if (p.kind === 'date' && p.date.y > 0) {
        // `--- Day changed` after some lines: those lines were said the day before.
        firstDate = timedBefore ? dayBefore(p.date) : p.date;
      } else if (p.stamp?.date && p.stamp.date.y > 0) firstDate = p.stamp.date;
      else if (p.stamp) timedBefore = true;
    }
    if (started === null && p.kind === 'msg') {
      const m = STARTED_RE.exec(p.text);
      if (m) {
        started = parseAsctime(m[1]!);
        bot = p.nick;
      }
    }
    if (firstDate && started !== null) break;
  }
  return { started, bot, firstDate, format, detected: det ? { read: det.read, of: det.of } : null };
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
  const labels = personLabels(m.people.values());
  return {
    title: title ? `${m.channel}: ${title}` : `${m.channel} Meeting`,
    channel: m.channel,
    name: m.name,
    owner: m.ownerNick(),
    chairs: m.chairList(),
    start: `${ymd(m.startTime)} ${hms(m.startTime)}`,
    end: `${ymd(m.endTime ?? m.lastTime)} ${hms(m.endTime ?? m.lastTime)}`,
    unterminated,
    topics,
    items,
    actions: m.items.filter((i) => i.type === 'ACTION').length,
    people: [...m.people.values()]
      .filter((p) => p.count > 0)
      .map((p) => ({ nick: labels.get(p.key)!, count: p.count }))
      .sort((a, b) => b.count - a.count || nickKey(a.nick).localeCompare(nickKey(b.nick))),
    lines: m.lineCount,
    files,
  };
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const t0 = performance.now();
  const tz = opts.tz ?? 'UTC';
  checkTimeZone(tz);
  let forced: LogFormat | undefined;
  if (opts.format !== undefined) {
    forced = logFormat(opts.format);
    if (!forced) throw new Error(`unknown log format '${opts.format}'`);
  }
  const scan = await prescan(opts.logFile, forced);
  const format = scan.format;
  let botNick = opts.botNick ?? scan.bot ?? 'virtbot';
  let botKey = nickKey(botNick);
  let channel = opts.channel ?? channelFromFileName(opts.logFile);
  if (!/^[#&!+]/.test(channel)) channel = '#' + channel;
  const warnings: string[] = [];

  let curDay: number; // days since the epoch of the local date
  let dateSource: ReplayResult['dateSource'];
  const name = basename(opts.logFile);
  const dashed = /(\d{4})-(\d{2})-(\d{2})/.exec(name);
  const nameDate =
    format.fileDate?.(name) ??
    (dashed ? { y: Number(dashed[1]), m: Number(dashed[2]), d: Number(dashed[3]) } : null);
  const optionDate =
    opts.date &&
    /^\d{4}-\d{2}-\d{2}$/.test(opts.date) &&
    Number.isFinite(Date.parse(opts.date + 'T00:00:00Z'))
      ? opts.date
      : null;
  if (opts.date !== undefined && optionDate === null)
    throw new Error(`--date wants YYYY-MM-DD, not '${opts.date}'`);
  if (optionDate) {
    curDay = Date.parse(optionDate + 'T00:00:00Z') / DAY_MS;
    dateSource = 'option';
  } else if (scan.firstDate) {
    curDay = dayOf(scan.firstDate);
    dateSource = 'log';
  } else if (scan.started !== null) {
    curDay = Math.floor((scan.started + (scan.started - zonedToUtc(scan.started, tz))) / DAY_MS);
    dateSource = 'meeting-started';
  } else if (nameDate && Number.isFinite(dayOf(nameDate))) {
    curDay = dayOf(nameDate);
    dateSource = 'file-name';
  } else {
    curDay = Math.floor((await stat(opts.logFile)).mtimeMs / DAY_MS);
    dateSource = 'mtime';
    warnings.push(
      `the log says no date: its times are taken as on ${ymd(curDay * DAY_MS)}, the file's modification date (give --date YYYY-MM-DD)`,
    );
  }
  let curYear = new Date(curDay * DAY_MS).getUTCFullYear();

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
    date: ymd(curDay * DAY_MS),
    dateSource,
    format: format.name,
    formatDetected: scan.detected,
    tz,
    warnings,
    cp1252Lines: 0,
    files: [],
    meetings: [],
    unreadable: [],
    unreadableCount: 0,
    lines: 0,
    messages: 0,
    skipped: 0,
    nickChanges: 0,
    elapsedMs: 0,
  };
  let lastSeconds = -1;
  let lastTime = zonedToUtc(curDay * DAY_MS, tz);
  const cp1252: number[] = [];

  const onIngest = (r: IngestResult): void => {
    if (r.files.length) result.files.push(...r.files);
    if (r.ended) result.meetings.push(summarize(r.ended, r.files, false));
  };

  const timeOf = (p: Parsed): number => {
    const st = p.stamp;
    if (!st) return lastTime;
    if (st.date) {
      const d = st.date.y === 0 ? { ...st.date, y: curYear } : st.date;
      const day = dayOf(d);
      if (Number.isFinite(day)) curDay = day;
    } else if (lastSeconds >= 0 && st.seconds < lastSeconds - 3600) {
      curDay += 1;
    }
    lastSeconds = st.seconds;
    const local = curDay * DAY_MS + st.seconds * 1000;
    lastTime = st.offset !== undefined ? local - st.offset * 60_000 : zonedToUtc(local, tz);
    return lastTime;
  };

  const handle = (raw: string): void => {
    result.lines++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    const p = format.parse(text);
    if (!p) {
      result.unreadableCount++;
      if (result.unreadable.length < MAX_UNREADABLE) result.unreadable.push({ line: result.lines, text });
      return;
    }
    if (p.kind === 'date') {
      result.skipped++;
      curDay = dayOf(p.date);
      curYear = p.date.y;
      lastSeconds = -1;
      lastTime = zonedToUtc(curDay * DAY_MS, tz);
      return;
    }
    const time = timeOf(p);
    if (p.kind === 'event') {
      result.skipped++;
      return;
    }
    if (p.kind === 'nick') {
      result.nickChanges++;
      if (nickKey(p.from) === botKey) {
        botNick = p.to;
        botKey = nickKey(p.to);
      }
      manager.onEvent({
        type: 'nick',
        transport: 'replay',
        network: '',
        from: p.from,
        to: p.to,
        time: new Date(time),
      });
      return;
    }
    result.messages++;
    onIngest(
      manager.ingest(place, channel, {
        nick: p.nick,
        text: p.text,
        time,
        action: p.action,
        bot: nickKey(p.nick) === botKey,
      }),
    );
  };

  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin = new TextDecoder('windows-1252');
  const decodeLine = (bytes: Uint8Array): string => {
    try {
      return utf8.decode(bytes);
    } catch {
      cp1252.push(result.lines + 1);
      return latin.decode(bytes);
    }
  };

  // The file is read in big blocks cut after their last newline byte: a newline is never part
  // of a multi-byte UTF-8 sequence, so each block decodes on its own. A block that is not valid
  // UTF-8 is decoded line by line, each line as UTF-8 or else as cp1252.
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
        let from = 0;
        if (first) {
          if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) from = 3;
          first = false;
        }
        let data: string | null;
        try {
          data = utf8.decode(buf.subarray(from, cut));
        } catch {
          data = null;
        }
        if (data !== null) {
          let start = 0;
          for (let nl = data.indexOf('\n'); nl !== -1; nl = data.indexOf('\n', start)) {
            handle(data.slice(start, nl));
            start = nl + 1;
          }
          if (start < data.length) handle(data.slice(start)); // the last line, without a newline
        } else {
          let start = from;
          for (let nl = buf.indexOf(10, start); nl !== -1 && nl < cut; nl = buf.indexOf(10, start)) {
            handle(decodeLine(buf.subarray(start, nl)));
            start = nl + 1;
          }
          if (start < cut) handle(decodeLine(buf.subarray(start, cut)));
        }
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
  result.cp1252Lines = cp1252.length;
  if (cp1252.length > 0) {
    warnings.push(
      `${cp1252.length} line${cp1252.length === 1 ? ' was' : 's were'} not UTF-8 and ${cp1252.length === 1 ? 'was' : 'were'} read as cp1252 (Latin-1): line${cp1252.length === 1 ? '' : 's'} ${cp1252.slice(0, 10).join(', ')}${cp1252.length > 10 ? ', …' : ''}`,
    );
  }
  result.botNick = botNick;
  result.elapsedMs = performance.now() - t0;
  return result;
}

/** What `virtbot replay` prints: what was read, each meeting found, the files, the unreadable lines. */
export function formatReplaySummary(result: ReplayResult): string {
  const out: string[] = [];
  const rate = result.elapsedMs > 0 ? Math.round(result.lines / (result.elapsedMs / 1000)) : 0;
  out.push(
    `Replayed ${result.logFile}: ${result.lines} lines (${result.messages} chat lines, ${result.skipped} join/part/status lines, ${result.nickChanges} nick changes, ${result.unreadableCount} unreadable) in ${Math.round(result.elapsedMs)} ms${rate ? ` (${rate} lines/s)` : ''}.`,
  );
  const fmt = result.formatDetected
    ? `${result.format} (detected: ${result.formatDetected.read} of ${result.formatDetected.of} sample lines read)`
    : `${result.format} (as asked)`;
  out.push(`Format ${fmt}; times in ${result.tz}.`);
  out.push(
    `Channel ${result.channel}, bot ${result.botNick}, date ${result.date} (from ${result.dateSource === 'log' ? "the log's date lines" : result.dateSource.replace('-', ' ')}).`,
  );
  for (const w of result.warnings) out.push(`warning: ${w}`);
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
