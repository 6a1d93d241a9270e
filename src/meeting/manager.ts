/**
 * MeetingManager: one meeting state machine per place, journaled so an open meeting survives a
 * restart, writing the minutes (and the index pages) at #save and #endmeeting.
 *
 * The pipeline feeds it every channel line with the speaker's proven identity (`observe`) and
 * every operation record (`recordOperation`); the transports' events come through `onEvent`
 * (nick changes, what the bot really sent, topics); a timer calls `sweep` to end meetings left
 * open too long; an admin ends one from anywhere with `endMeeting`. Replay feeds it an IRC log
 * through `ingest` in 'replay' mode (no journal; the bot's lines are taken from the log).
 *
 * The log is a record of what was said in the channel: people's lines as they typed them
 * (`InboundMessage.said`), and the bot's lines only as the transport reports sending them (a
 * `sent` event) — never a private reply, never a line the server refused, and never a line of
 * someone who merely holds the bot's usual nick.
 */
import { placeKey as keyOfPlace } from '../core/place.js';
import type {
  AuditRecord,
  ChatEvent,
  Identity,
  InboundMessage,
  Place,
  Reply,
  Sender,
} from '../core/types.js';
import { basenameTaken, LogSink, locateMinutes, type MinutesLocation, writeMinutes } from './files.js';
import { previousMeeting, writeIndexes } from './index-page.js';
import type { JournalEntry, JournalFile } from './journal.js';
import { FileJournalStore, type JournalStore, type JournalWriter } from './journal-store.js';
import { meetingTitle } from './minutes.js';
import type { MeetingNotice, MeetingService } from './service.js';

export type { MeetingNotice } from './service.js';

import {
  type CarriedAction,
  type FeedResult,
  type InputLine,
  isStartMeeting,
  type LogLine,
  Meeting,
  type MeetingEvent,
  type MeetingReply,
} from './state.js';
import { asctime, hms, nickKey, ymd } from './text.js';

export interface MeetingManagerOptions {
  /** Journals of open meetings go to `dataDir/meetings/`. Without it nothing is journaled. */
  dataDir?: string;
  /** Where the minutes and logs are written (see files.ts for the layout). */
  minutesDir: string;
  /** Public base URL of minutesDir; the channel is told `minutesUrl/CHANNEL/YYYY/NAME…`. Else the file path. */
  minutesUrl?: string;
  /** The bot's configured nick (its nick until a `nick` event says otherwise). */
  botNick: string;
  /** Time for operation records without a usable time, and for `sweep` (tests pin it). */
  clock?: () => Date;
  /** Said in the start/end messages as where to read about meetings. */
  infoUrl?: string;
  /**
   * 'live' (default): journal every line (fdatasync'd); the bot's lines come from `sent` events.
   * 'replay': no journal; the log being replayed already holds the bot's lines.
   */
  mode?: 'live' | 'replay';
  /** fdatasync each journal entry (default true in live mode). */
  fsync?: boolean;
  /** Minutes without a line from a chair after which anyone may #endmeeting (default 60; 0: never). */
  idleEndMinutes?: number;
  /** Hours without any line after which `sweep` ends an open meeting (default 24; 0: never). */
  autoEndHours?: number;
  /** Put the network in the minutes' path (`minutesDir/NETWORK/CHANNEL/…`): set when more than one network is configured. */
  networkInPath?: boolean;
  /**
   * Where journals go (default: files under `dataDir/meetings/`). A store that cannot be read at
   * once (PostgreSQL) restores nothing at construction: `resume(prefix)` restores the meetings of
   * the connections this process serves, when it starts serving them.
   */
  journals?: JournalStore;
  /** Told when a journal cannot be written (the meeting goes on; the entries are retried). */
  warn?: (error: unknown, what: string) => void;
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

export interface EndResult {
  /** False when no open meeting matched (or more than one did). */
  ok: boolean;
  /** What to tell whoever asked. */
  text: string;
  files: string[];
  /** What to say in the meeting's channel (also returned by the next `sweep`). */
  notice?: MeetingNotice;
}

interface OpenMeeting {
  meeting: Meeting;
  place: Place;
  journal: JournalWriter | null;
  /** Replay mode: the log goes to disk as it comes instead of staying in memory. */
  sink: LogSink | null;
  /** The location claimed for this meeting's files, and the name it was claimed for. */
  loc: MinutesLocation | null;
  locName: string | null;
  /** The channel topic before the meeting (null: not known). */
  oldTopic: string | null;
}

/**
 * The key a person is followed by: a configured user (`user:NAME`), else the IRC services account
 * (`account:NETWORK:ACCOUNT`), else the Discord user id (`discord:ID`); undefined when there is
 * no proof (the meeting then follows the nick across nick changes: `nick:NETWORK:NICK`).
 */
export function personKey(place: Place, sender: Sender, identity?: Identity | null): string | undefined {
  if (identity?.user && identity.proof !== 'anonymous') return `user:${identity.user}`;
  if (sender.account) return `account:${place.network}:${sender.account.toLowerCase()}`;
  if (sender.userId) return `discord:${sender.userId}`;
  return undefined;
}

/** How a place's channel is named in minutes and paths: its label (Discord), else the channel. */
export function channelName(place: Place): string {
  if (place.label) return /^[#&]/.test(place.label) ? place.label : `#${place.label}`;
  return place.channel;
}

const toReply = (r: MeetingReply): Reply => {
  const out: Reply = { text: r.text, kind: r.kind };
  if (r.setTopic !== undefined) out.setTopic = r.setTopic;
  return out;
};

export class MeetingManager implements MeetingService {
  private readonly opts: MeetingManagerOptions;
  private readonly open = new Map<string, OpenMeeting>();
  private readonly clock: () => Date;
  private readonly live: boolean;
  /** The bot's current nick per `transport:network` (after `nick` events). */
  private readonly botNicks = new Map<string, string>();
  /** Channel topics seen outside meetings, by place key. */
  private readonly topics = new Map<string, string>();
  /** Notices for the channels from `endMeeting`, handed out by `sweep`. */
  private readonly notices: MeetingNotice[] = [];
  private closed = false;
  /** Place keys whose open meeting was restored from a journal at construction. */
  readonly restored: string[] = [];
  /** Files written at restore (a journal that already held #endmeeting). */
  readonly restoredFiles: string[] = [];

  private readonly journals: JournalStore | undefined;

  constructor(opts: MeetingManagerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? (() => new Date());
    this.live = (opts.mode ?? 'live') === 'live';
    this.journals =
      opts.journals ?? (opts.dataDir ? new FileJournalStore(opts.dataDir, opts.fsync ?? true) : undefined);
    const files = this.live ? this.journals?.readSync?.() : undefined;
    if (files) this.restore(files);
  }

  /**
   * Restores the open meetings whose place key starts with `prefix` from their journals (another
   * process ran them until now: it stopped, or gave their connection up). Meetings of those
   * places held here already are read again, so that every line journaled elsewhere counts.
   */
  async resume(prefix: string): Promise<string[]> {
    if (!this.live || !this.journals) return [];
    const files = await this.journals.read(prefix);
    this.release(prefix);
    const before = this.restored.length;
    this.restore(files);
    return this.restored.slice(before);
  }

  /** Forgets the open meetings whose place key starts with `prefix`, leaving their journals (another process continues them). */
  release(prefix: string): string[] {
    const dropped: string[] = [];
    for (const [key, open] of [...this.open.entries()]) {
      if (!key.startsWith(prefix)) continue;
      open.journal?.close();
      this.open.delete(key);
      dropped.push(key);
    }
    return dropped;
  }

  /** Waits until what the place's meeting journaled is durable (a store that is down: logged, kept, retried). */
  private async durable(placeKey: string): Promise<void> {
    try {
      await this.open.get(placeKey)?.journal?.flush();
    } catch (error) {
      // The meeting goes on from memory; the entries stay queued and are written once the store is back.
      this.opts.warn?.(error, `the journal of the meeting in ${placeKey} cannot be written now`);
    }
  }

  /** The open meeting of a place, if any. */
  meeting(placeKey: string): Meeting | undefined {
    return this.open.get(placeKey)?.meeting;
  }

  /** Place keys with an open meeting. */
  openPlaces(): string[] {
    return [...this.open.keys()];
  }

  /** The open meetings with their places (for `meeting list`-style answers). */
  openMeetings(): { key: string; place: Place; meeting: Meeting }[] {
    return [...this.open.entries()].map(([key, o]) => ({ key, place: o.place, meeting: o.meeting }));
  }

  /** The bot's nick on a place's network now. */
  botNickAt(place: Pick<Place, 'transport' | 'network'>): string {
    return this.botNicks.get(`${place.transport}:${place.network}`) ?? this.opts.botNick;
  }

  /** Where a meeting's minutes go, claimed once per name so nothing of another meeting is overwritten. */
  private claim(open: OpenMeeting): MinutesLocation {
    const m = open.meeting;
    if (open.loc && open.locName === m.name) return open.loc;
    const loc = locateMinutes({
      minutesDir: this.opts.minutesDir,
      minutesUrl: this.opts.minutesUrl,
      channel: m.channel,
      network: this.opts.networkInPath ? (open.place.networkLabel ?? open.place.network) : undefined,
      name: m.name,
      start: m.startTime,
      taken: basenameTaken,
    });
    open.loc = loc;
    open.locName = m.name;
    open.journal?.append({ k: 'loc', x: loc.basename, m: m.name });
    return loc;
  }

  /** Where the open meeting of a place has its minutes (claiming the location). */
  location(placeKey: string): MinutesLocation | undefined {
    const open = this.open.get(placeKey);
    return open ? this.claim(open) : undefined;
  }

  async observe(msg: InboundMessage, identity: Identity): Promise<{ handled: boolean; replies: Reply[] }> {
    if (msg.place.private || this.closed) return { handled: false, replies: [] };
    const t = msg.time instanceof Date ? msg.time.getTime() : Number.NaN;
    const line: IngestLine = {
      nick: msg.sender.nick,
      text: msg.text,
      time: Number.isFinite(t) ? t : this.clock().getTime(),
      action: msg.action === true,
    };
    if (msg.said !== undefined && msg.said !== msg.text) line.said = msg.said;
    const person = personKey(msg.place, msg.sender, identity);
    if (person !== undefined) line.person = person;
    const key = keyOfPlace(msg.place);
    const r = this.ingest(key, msg.place, line);
    await this.durable(key);
    return { handled: r.handled, replies: this.replies(key, r.replies, r.ended) };
  }

  /** Replies for the transport; a "restore the topic" becomes the old topic when it is known. */
  private replies(key: string, replies: MeetingReply[], ended?: Meeting, oldTopic?: string | null): Reply[] {
    const old = oldTopic !== undefined ? oldTopic : ended ? (this.lastOldTopic.get(key) ?? null) : null;
    return replies.map((r) => {
      const out = toReply(r);
      if (r.restoreTopic && old !== null) out.setTopic = old;
      return out;
    });
  }

  /** The old topic of meetings that just ended (for the end replies). */
  private readonly lastOldTopic = new Map<string, string | null>();

  onEvent(event: ChatEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'nick': {
        const net = `${event.transport}:${event.network}`;
        const bot = this.botNicks.get(net) ?? this.opts.botNick;
        if (nickKey(bot) === nickKey(event.from)) this.botNicks.set(net, event.to);
        for (const open of this.open.values()) {
          if (open.place.transport !== event.transport || open.place.network !== event.network) continue;
          const t = event.time.getTime();
          open.journal?.append({ k: 'nick', f: event.from, n: event.to, t });
          open.meeting.nickChange(event.from, event.to, t);
        }
        return;
      }
      case 'sent': {
        if (event.place.private) return;
        const open = this.open.get(keyOfPlace(event.place));
        if (!open) return;
        const nick = this.botNickAt(event.place);
        const t = event.time.getTime();
        for (const text of event.text.split('\n')) {
          if (text.trim() === '') continue;
          open.journal?.append({ k: 'line', n: nick, x: text, t, b: 1 });
          open.meeting.addBotLine(nick, text, t);
        }
        return;
      }
      case 'topic': {
        const key = keyOfPlace(event.place);
        // During a meeting the topic is the meeting's; the one to restore is the one before it.
        if (!this.open.has(key)) this.topics.set(key, event.topic);
        return;
      }
      case 'refused':
        // Not said: not in the log.
        return;
    }
  }

  async recordOperation(placeKey: string, record: AuditRecord, line: string): Promise<void> {
    const open = this.open.get(placeKey);
    if (!open || this.closed) return;
    const parsed = Date.parse(record.time);
    const time = Number.isFinite(parsed) ? parsed : this.clock().getTime();
    open.journal?.append({ k: 'op', n: record.nick, x: line, t: time, o: record.outcome });
    open.meeting.addOperation(record.nick, line, time, record.outcome);
    await this.durable(placeKey);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const o of this.open.values()) o.journal?.close();
  }

  /** Feeds one line said in a place (synchronous; `observe` and replay both come here). */
  ingest(placeKey: string, where: Place | string, line: IngestLine): IngestResult {
    const result: IngestResult = { handled: false, replies: [], files: [] };
    let open = this.open.get(placeKey);
    if (!open) {
      if (line.bot || line.action || !isStartMeeting(line.text)) return result;
      const place: Place =
        typeof where === 'string'
          ? { transport: 'replay', network: '', channel: where, private: false }
          : where;
      open = this.create(placeKey, place);
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
      meeting.addBotLine(line.nick, line.text, line.time, line.action === true);
      return result;
    }
    journal?.append(lineEntry(line));
    const fed = meeting.feed(line);
    result.handled = fed.handled;
    result.replies = fed.replies;
    if (!meeting.started) {
      // A #startmeeting that did not start anything: nothing to keep.
      this.open.delete(placeKey);
      journal?.remove();
      return result;
    }
    this.handleEvents(placeKey, open, fed.events, result);
    return result;
  }

  /** Ends every open meeting that never saw #endmeeting (end of a replayed log) and writes its minutes. */
  finishAll(): { meeting: Meeting; files: string[] }[] {
    const out: { meeting: Meeting; files: string[] }[] = [];
    for (const [key, open] of [...this.open.entries()]) {
      open.meeting.forceEnd('log-end');
      const r: IngestResult = { handled: false, replies: [], files: [] };
      this.handleEvents(key, open, [{ type: 'ended' }], r);
      out.push({ meeting: open.meeting, files: r.files });
    }
    return out;
  }

  /**
   * Ends an open meeting from anywhere (an admin's `meeting end CHANNEL`): `target` is a place key,
   * a channel ('#kimchi', a Discord channel's name or id) or `NETWORK/#channel`. The minutes are
   * written; the notice for the channel is returned and also handed out by the next `sweep`.
   */
  endMeeting(target: string, by: string): EndResult {
    const matches = this.findOpen(target);
    if (matches.length === 0) {
      const list = this.openMeetings().map((o) => this.describePlace(o.place));
      return {
        ok: false,
        text: `no meeting is open in ${target}${list.length ? ` (open: ${list.join(', ')})` : ' (none is open)'}`,
        files: [],
      };
    }
    if (matches.length > 1) {
      return {
        ok: false,
        text: `${target} matches ${matches.length} open meetings: ${matches.map(([, o]) => this.describePlace(o.place)).join(', ')} — say which (NETWORK/#channel)`,
        files: [],
      };
    }
    const [key, open] = matches[0]!;
    const now = Math.max(this.clock().getTime(), open.meeting.lastTime);
    open.journal?.append({ k: 'end', by, t: now, h: 'admin' });
    open.meeting.forceEnd('admin', now);
    const r: IngestResult = { handled: false, replies: [], files: [] };
    this.handleEvents(key, open, [{ type: 'ended' }], r);
    const base = this.claim(open).public;
    const said: MeetingReply[] = [
      {
        text: `Meeting ended ${asctime(now)} UTC by ${by} (from elsewhere).`,
        kind: 'meeting',
        restoreTopic: true,
      },
      ...open.meeting.endLines(base).map((text) => ({ text, kind: 'meeting' as const })),
      ...r.replies,
    ];
    const notice: MeetingNotice = {
      place: open.place,
      replies: this.replies(key, said, undefined, open.oldTopic),
    };
    this.notices.push(notice);
    return {
      ok: r.files.length > 0,
      text: `ended the meeting in ${this.describePlace(open.place)} (started by ${open.meeting.ownerNick()} at ${hms(open.meeting.startTime)} UTC on ${ymd(open.meeting.startTime)}); minutes: ${base}.html`,
      files: r.files,
      notice,
    };
  }

  private describePlace(place: Place): string {
    const net = place.networkLabel ?? place.network;
    return net ? `${net}/${channelName(place)}` : channelName(place);
  }

  private findOpen(target: string): [string, OpenMeeting][] {
    const t = target.trim();
    const direct = this.open.get(t);
    if (direct) return [[t, direct]];
    const slash = t.lastIndexOf('/');
    const net = slash > 0 ? t.slice(0, slash).toLowerCase() : null;
    const chan = nickKey(slash > 0 ? t.slice(slash + 1) : t).replace(/^#/, '');
    return [...this.open.entries()].filter(([, o]) => {
      const names = [o.place.channel, o.place.label ?? ''].map((n) => nickKey(n).replace(/^#/, ''));
      if (!names.includes(chan)) return false;
      if (net === null) return true;
      return [o.place.network, o.place.networkLabel ?? ''].some((n) => n.toLowerCase() === net);
    });
  }

  /**
   * Ends the open meetings nothing was said in for `autoEndHours` (their minutes are written, the
   * end time is their last line) and returns what to say in their channels, with the notices of
   * `endMeeting` not yet handed out. The bot calls it from a timer and posts each notice with
   * `Transport.send(notice.place, reply)`.
   */
  sweep(now: Date = this.clock()): MeetingNotice[] {
    const out = this.notices.splice(0);
    const hours = this.opts.autoEndHours ?? 24;
    if (!this.live || hours <= 0 || this.closed) return out;
    const limit = hours * 3_600_000;
    for (const [key, open] of [...this.open.entries()]) {
      const m = open.meeting;
      const last = Math.max(m.lastTime, m.startTime);
      if (now.getTime() - last < limit) continue;
      open.journal?.append({ k: 'end', by: '', t: last, h: 'idle' });
      m.forceEnd('idle', last);
      const r: IngestResult = { handled: false, replies: [], files: [] };
      this.handleEvents(key, open, [{ type: 'ended' }], r);
      const base = this.claim(open).public;
      const said: MeetingReply[] = [
        {
          text: `Meeting ended automatically: nothing was said for ${hours} hours since ${hms(last)} UTC on ${ymd(last)}. ${asctime(last)} UTC is its end.`,
          kind: 'meeting',
          restoreTopic: true,
        },
        ...m.endLines(base).map((text) => ({ text, kind: 'meeting' as const })),
        ...r.replies,
      ];
      out.push({ place: open.place, replies: this.replies(key, said, undefined, open.oldTopic) });
    }
    return out;
  }

  private create(placeKey: string, place: Place, journal?: JournalWriter, head?: MeetingHead): OpenMeeting {
    const sink = this.live ? null : new LogSink(this.opts.minutesDir);
    const channel = channelName(place);
    const carried = head ? head.carried : this.live ? this.carryOver(place) : [];
    let open: OpenMeeting | undefined;
    const meeting = new Meeting({
      channel,
      network: place.network,
      ...(this.opts.infoUrl ? { infoUrl: this.opts.infoUrl } : {}),
      locate: () => (open ? this.claim(open).public : ''),
      ...(sink ? { retainLines: false, onLine: (l: LogLine) => sink.add(l) } : {}),
      idleEndMs: (this.opts.idleEndMinutes ?? 60) * 60_000,
      carried,
      ...(place.hearsChatter === false ? { hearsChatter: false } : {}),
    });
    const oldTopic = head ? head.topic : (this.topics.get(placeKey) ?? null);
    let j: JournalWriter | null = journal ?? null;
    if (!j && this.live && this.journals) {
      j = this.journals.create(placeKey);
      j.append({ k: 'meeting', v: 2, place: placeKey, channel, p: place, carried, topic: oldTopic });
    }
    open = { meeting, place, journal: j, sink, loc: null, locName: null, oldTopic };
    this.open.set(placeKey, open);
    return open;
  }

  /** The open action items of the channel's previous meeting, numbered from 1. */
  private carryOver(place: Place): CarriedAction[] {
    const probe = locateMinutes({
      minutesDir: this.opts.minutesDir,
      channel: channelName(place),
      network: this.opts.networkInPath ? (place.networkLabel ?? place.network) : undefined,
      name: null,
      start: this.clock().getTime(),
    });
    const prev = previousMeeting(probe.channelDir);
    if (!prev) return [];
    const m = prev.minutes;
    const date = m.start.slice(0, 10);
    const from = m.title;
    const source = m.relative;
    const open = [
      ...m.carriedOver
        .filter((c) => c.status === 'open')
        .map((c) => ({ text: c.text, nick: c.by, date: c.date, from: c.from })),
      ...m.actions.map((a) => ({ text: a.text, nick: a.by, date, from })),
    ];
    return open.map((a, i) => ({ id: i + 1, ...a, source }));
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
          result.files.push(...writeMinutes(open.meeting, this.claim(open), undefined, this.context(open)));
        } catch (err) {
          result.replies.push({
            text: `Could not save the minutes: ${(err as Error).message}`,
            kind: 'error',
          });
        }
      } else if (ev.type === 'ended') {
        this.open.delete(placeKey);
        this.topics.delete(placeKey);
        this.lastOldTopic.set(placeKey, open.oldTopic);
        result.ended = open.meeting;
        try {
          const loc = this.claim(open);
          result.files.push(...writeMinutes(open.meeting, loc, open.sink ?? undefined, this.context(open)));
          open.journal?.remove();
          try {
            writeIndexes(this.opts.minutesDir, loc.channelDir, open.meeting.channel);
          } catch (err) {
            result.replies.push({
              text: `Could not update the index pages: ${(err as Error).message}`,
              kind: 'error',
            });
          }
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

  private context(open: OpenMeeting) {
    const m = open.meeting;
    return {
      transport: open.place.transport,
      network: open.place.networkLabel ?? open.place.network,
      written: new Date(m.endTime ?? m.lastTime).toISOString(),
    };
  }

  /** Rebuilds the open meetings from their journals (every line and event goes through the state machine again). */
  private restore(files: JournalFile[]): void {
    for (const file of files) {
      const journal = this.journals!.reopen(file);
      const place: Place = file.head.p ?? placeFromKey(file.place, file.channel);
      const open = this.create(file.place, place, journal, {
        carried: file.head.carried ?? [],
        topic: file.head.topic ?? null,
      });
      const { meeting } = open;
      let ended: 'chair' | 'admin' | 'idle' | null = null;
      let endTime = 0;
      for (const e of file.entries) {
        if (ended) break;
        if (e.k === 'line') {
          if (e.b) meeting.addBotLine(e.n, e.x, e.t, e.a === 1);
          else {
            const fed: FeedResult = meeting.feed(inputOf(e));
            if (fed.events.some((ev) => ev.type === 'ended')) ended = 'chair';
          }
        } else if (e.k === 'op') {
          meeting.addOperation(e.n, e.x, e.t, e.o);
        } else if (e.k === 'nick') {
          meeting.nickChange(e.f, e.n, e.t);
        } else if (e.k === 'loc') {
          open.loc = locateMinutes({
            minutesDir: this.opts.minutesDir,
            minutesUrl: this.opts.minutesUrl,
            channel: meeting.channel,
            network: this.opts.networkInPath ? (place.networkLabel ?? place.network) : undefined,
            name: e.m,
            start: meeting.startTime,
            taken: (dir, base) => base !== e.x && basenameTaken(dir, base),
          });
          open.locName = e.m;
        } else if (e.k === 'end') {
          ended = e.h;
          endTime = e.t;
        }
      }
      if (!meeting.started) {
        this.open.delete(file.place);
        journal.remove();
        continue;
      }
      if (ended) {
        // The process stopped between the end and the end of writing: finish the job.
        if (ended !== 'chair') meeting.forceEnd(ended, endTime);
        const r: IngestResult = { handled: false, replies: [], files: [] };
        this.handleEvents(file.place, open, [{ type: 'ended' }], r);
        this.restoredFiles.push(...r.files);
        continue;
      }
      this.restored.push(file.place);
    }
  }
}

interface MeetingHead {
  carried: CarriedAction[];
  topic: string | null;
}

function lineEntry(line: IngestLine): JournalEntry {
  const e: JournalEntry = { k: 'line', n: line.nick, x: line.said ?? line.text, t: line.time };
  if (line.said !== undefined && line.said !== line.text) e.c = line.text;
  if (line.person !== undefined) e.p = line.person;
  if (line.action) e.a = 1;
  return e;
}

function inputOf(e: Extract<JournalEntry, { k: 'line' }>): InputLine {
  const line: InputLine = { nick: e.n, text: e.c ?? e.x, time: e.t, action: e.a === 1 };
  if (e.c !== undefined) line.said = e.x;
  if (e.p !== undefined) line.person = e.p;
  return line;
}

/** A version-1 journal knows only the place key: `transport:network:channel`. */
function placeFromKey(key: string, channel: string): Place {
  const [transport = '', network = ''] = key.split(':');
  return { transport, network, channel, private: false };
}

export { meetingTitle };
