/**
 * MeetingManager: one meeting state machine per place, journaled so an open meeting survives a
 * restart, writing the minutes at #save and #endmeeting. The pipeline feeds it every channel
 * line (`observe`) and every operation record (`recordOperation`); replay feeds it an IRC log
 * through `ingest` in 'replay' mode (no journal, and the bot's replies are taken from the log).
 */
import { placeKey as keyOfPlace } from '../core/place.js';
import type { AuditRecord, InboundMessage, Reply } from '../core/types.js';
import { LogSink, locateMinutes, type MinutesLocation, writeMinutes } from './files.js';
import { Journal, readJournals } from './journal.js';
import type { MeetingService } from './service.js';
import {
  type InputLine,
  isStartMeeting,
  type LogLine,
  Meeting,
  type MeetingEvent,
  type MeetingReply,
} from './state.js';

export interface MeetingManagerOptions {
  /** Journals of open meetings go to `dataDir/meetings/`. Without it nothing is journaled. */
  dataDir?: string;
  /** Where the minutes and logs are written (see files.ts for the layout). */
  minutesDir: string;
  /** Public base URL of minutesDir; the channel is told `minutesUrl/CHANNEL/YYYY/NAME…`. Else the file path. */
  minutesUrl?: string;
  /** The bot's own nick: its lines are logged but are not people and never commands. */
  botNick: string;
  /** Time for operation records without a usable time (tests pin it). */
  clock?: () => Date;
  /** Said in the start/end messages as where to read about meetings. */
  infoUrl?: string;
  /**
   * 'live' (default): journal every line (fdatasync'd) and add the bot's own replies to the log.
   * 'replay': no journal; the log being replayed already holds the bot's lines.
   */
  mode?: 'live' | 'replay';
  /** fdatasync each journal entry (default true in live mode). */
  fsync?: boolean;
}

/** A line for `ingest`: a person's line, or (`bot: true`) one the bot said. */
export interface IngestLine extends InputLine {
  bot?: boolean;
}

export interface IngestResult {
  handled: boolean;
  replies: MeetingReply[];
  /** Files written because of this line (#save, #endmeeting). */
  files: string[];
  /** The meeting that ended with this line, if any. */
  ended?: Meeting;
}

interface OpenMeeting {
  meeting: Meeting;
  journal: Journal | null;
  /** Replay mode: the log goes to disk as it comes instead of staying in memory. */
  sink: LogSink | null;
}

export class MeetingManager implements MeetingService {
  private readonly opts: MeetingManagerOptions;
  private readonly open = new Map<string, OpenMeeting>();
  private readonly clock: () => Date;
  private readonly live: boolean;
  private closed = false;
  /** Place keys whose open meeting was restored from a journal at construction. */
  readonly restored: string[] = [];
  /** Files written at restore (a journal that already held #endmeeting). */
  readonly restoredFiles: string[] = [];

  constructor(opts: MeetingManagerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? (() => new Date());
    this.live = (opts.mode ?? 'live') === 'live';
    if (this.live && opts.dataDir) this.restore(opts.dataDir);
  }

  /** The open meeting of a place, if any. */
  meeting(placeKey: string): Meeting | undefined {
    return this.open.get(placeKey)?.meeting;
  }

  /** Place keys with an open meeting. */
  openPlaces(): string[] {
    return [...this.open.keys()];
  }

  /** Where a meeting's minutes go. */
  location(m: Meeting): MinutesLocation {
    return locateMinutes(this.opts.minutesDir, this.opts.minutesUrl, m.channel, m.name, m.startTime);
  }

  async observe(
    msg: InboundMessage,
    _identityUser: string | null,
  ): Promise<{ handled: boolean; replies: Reply[] }> {
    if (msg.place.private || this.closed) return { handled: false, replies: [] };
    const t = msg.time instanceof Date ? msg.time.getTime() : Number.NaN;
    const r = this.ingest(keyOfPlace(msg.place), msg.place.channel, {
      nick: msg.sender.nick,
      text: msg.text,
      time: Number.isFinite(t) ? t : this.clock().getTime(),
      action: msg.action === true,
    });
    return { handled: r.handled, replies: r.replies.map((x) => ({ text: x.text, kind: x.kind })) };
  }

  async recordOperation(placeKey: string, record: AuditRecord, line: string): Promise<void> {
    const open = this.open.get(placeKey);
    if (!open || this.closed) return;
    const parsed = Date.parse(record.time);
    const time = Number.isFinite(parsed) ? parsed : this.clock().getTime();
    open.journal?.append({ k: 'op', n: record.nick, x: line, t: time, o: record.outcome });
    open.meeting.addOperation(record.nick, line, time, record.outcome);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const o of this.open.values()) o.journal?.close();
  }

  /** Feeds one line said in a place (synchronous; `observe` and replay both come here). */
  ingest(placeKey: string, channel: string, line: IngestLine): IngestResult {
    const result: IngestResult = { handled: false, replies: [], files: [] };
    let open = this.open.get(placeKey);
    if (!open) {
      if (line.bot || line.action || !isStartMeeting(line.text)) return result;
      open = this.create(placeKey, channel);
    }
    const { meeting, journal } = open;
    if (line.bot) {
      journal?.append({
        k: 'line',
        n: line.nick,
        x: line.text,
        t: line.time,
        b: 1,
        ...(line.action ? { a: 1 } : {}),
      });
      meeting.addBotLine(line.text, line.time, line.action === true);
      return result;
    }
    journal?.append({
      k: 'line',
      n: line.nick,
      x: line.text,
      t: line.time,
      ...(line.action ? { a: 1 } : {}),
    });
    const fed = meeting.feed(line);
    result.handled = fed.handled;
    result.replies = fed.replies;
    if (this.live) {
      for (const r of fed.replies) {
        journal?.append({ k: 'line', n: this.opts.botNick, x: r.text, t: line.time, b: 1 });
        meeting.addBotLine(r.text, line.time);
      }
    }
    this.handleEvents(placeKey, open, fed.events, result);
    return result;
  }

  /** Ends every open meeting that never saw #endmeeting (end of a replayed log) and writes its minutes. */
  finishAll(): { meeting: Meeting; files: string[] }[] {
    const out: { meeting: Meeting; files: string[] }[] = [];
    for (const [key, open] of [...this.open.entries()]) {
      open.meeting.forceEnd();
      const r: IngestResult = { handled: false, replies: [], files: [] };
      this.handleEvents(key, open, [{ type: 'ended' }], r);
      out.push({ meeting: open.meeting, files: r.files });
    }
    return out;
  }

  private create(placeKey: string, channel: string, journal?: Journal): OpenMeeting {
    const sink = this.live ? null : new LogSink(this.opts.minutesDir);
    const meeting = new Meeting({
      channel,
      botNick: this.opts.botNick,
      ...(this.opts.infoUrl ? { infoUrl: this.opts.infoUrl } : {}),
      locate: (m) => this.location(m).public,
      ...(sink ? { retainLines: false, onLine: (l: LogLine) => sink.add(l) } : {}),
    });
    let j: Journal | null = journal ?? null;
    if (!j && this.live && this.opts.dataDir) {
      j = new Journal(this.opts.dataDir, placeKey, this.opts.fsync ?? true, true);
      j.append({ k: 'meeting', v: 1, place: placeKey, channel });
    }
    const open: OpenMeeting = { meeting, journal: j, sink };
    this.open.set(placeKey, open);
    return open;
  }

  private handleEvents(
    placeKey: string,
    open: OpenMeeting,
    events: MeetingEvent[],
    result: IngestResult,
  ): void {
    for (const ev of events) {
      if (ev.type === 'save') {
        // A replay writes each meeting once, at its end (its log is being streamed to disk).
        if (open.sink) continue;
        try {
          result.files.push(...writeMinutes(open.meeting, this.location(open.meeting)));
        } catch (err) {
          result.replies.push({
            text: `Could not save the minutes: ${(err as Error).message}`,
            kind: 'error',
          });
        }
      } else if (ev.type === 'ended') {
        this.open.delete(placeKey);
        result.ended = open.meeting;
        try {
          result.files.push(
            ...writeMinutes(open.meeting, this.location(open.meeting), open.sink ?? undefined),
          );
          open.journal?.remove();
        } catch (err) {
          open.sink?.discard();
          open.journal?.setAside();
          result.replies.push({
            text: `Could not write the minutes: ${(err as Error).message}; the meeting's journal was kept.`,
            kind: 'error',
          });
        }
      }
    }
  }

  /** Rebuilds the open meetings from their journals (every line goes through the state machine again). */
  private restore(dataDir: string): void {
    for (const file of readJournals(dataDir)) {
      const journal = new Journal(dataDir, file.place, this.opts.fsync ?? true, false);
      const open = this.create(file.place, file.channel, journal);
      const { meeting } = open;
      let ended = false;
      for (const e of file.entries) {
        if (e.k === 'line') {
          if (e.b) meeting.addBotLine(e.x, e.t, e.a === 1);
          else {
            const fed = meeting.feed({ nick: e.n, text: e.x, time: e.t, action: e.a === 1 });
            if (fed.events.some((ev) => ev.type === 'ended')) ended = true;
          }
        } else if (e.k === 'op') {
          meeting.addOperation(e.n, e.x, e.t, e.o);
        }
      }
      if (!meeting.started) {
        this.open.delete(file.place);
        journal.remove();
        continue;
      }
      if (ended) {
        // The process stopped between #endmeeting and the end of writing: finish the job.
        const r: IngestResult = { handled: false, replies: [], files: [] };
        this.handleEvents(file.place, open, [{ type: 'ended' }], r);
        this.restoredFiles.push(...r.files);
        continue;
      }
      this.restored.push(file.place);
    }
  }
}
