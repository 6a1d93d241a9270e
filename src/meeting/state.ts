/**
 * The meeting state machine of one place (channel): pure and synchronous, no I/O.
 *
 * Lines go in (`feed`), replies and events come out. The caller (MeetingManager) sends the
 * replies, adds what the bot really said as bot lines (`addBotLine`), journals every line and
 * event, and writes the minutes on the `save` / `ended` events. Replaying a journal or an IRC
 * log through `feed` / `addBotLine` / `nickChange` rebuilds exactly the same meeting.
 *
 * Commands and who may use them come from the table in commands.ts. Semantics follow
 * Debian/Limnoria MeetBot, with these differences: a refused command gets an answer instead of
 * silence; chairs are people, not names — a person is their proven identity (configured user,
 * services account, Discord id) when the line carries one (`InputLine.person`), else their nick,
 * followed across nick changes (`nickChange`); once no chair has said anything for `idleEndMs`
 * (default an hour) anyone may `#endmeeting` (OpenStack's fork lets anyone end after an hour);
 * nick comparisons are IRC-case-insensitive; the bot and the merely-named are not "people
 * present"; #undo never removes an operation record.
 */
import {
  commandsReply,
  type HandlerName,
  type ItemType,
  type MeetingCommand,
  meetingTypo,
  parseMeetingCommand,
  splitVoteOptions,
  usefulCommandsLine,
} from './commands.js';
import { asctime, hms, nickKey, splitNicks, startsWithUrl, stripIrcFormatting, ymd } from './text.js';

export type { ItemType } from './commands.js';
export { USEFUL_COMMANDS } from './commands.js';

/** One line of the meeting log, 1-based `n` (the HTML log's anchor is `l-n`). */
export interface LogLine {
  n: number;
  /** Epoch milliseconds. */
  time: number;
  /** The nick it was said under, at the time. */
  nick: string;
  /** The line as said (IRC formatting removed). */
  text: string;
  action: boolean;
  /** Said by the bot itself (never a person present, never a command). */
  bot: boolean;
}

export interface Item {
  type: ItemType;
  text: string;
  /** The nick it was said under. */
  nick: string;
  /** The person (see Person.key) who added it; absent for items of the bot. */
  person?: string;
  time: number;
  /** The log line it came from. */
  line: number;
  /** For OPERATION items: ok, denied, failed, … */
  outcome?: string;
}

/** Someone who took part, one per identity. */
export interface Person {
  /** `user:NAME`, `account:NETWORK:ACCOUNT`, `discord:ID` or `nick:NETWORK:NICK` (followed across nick changes). */
  key: string;
  /** Every nick they were seen under, first first. */
  nicks: string[];
  /** The nick they go by now. */
  nick: string;
  /** Lines said during the meeting (0 for chairs who never spoke). */
  count: number;
  /** Time of their last line. */
  lastSeen: number;
}

/** An action item of an earlier meeting still open when this one started. */
export interface CarriedAction {
  /** 1-based, as listed at #startmeeting and closed with `#done N`. */
  id: number;
  text: string;
  /** Who added it (the nick then). */
  nick: string;
  /** The meeting it comes from: its title and start date (YYYY-MM-DD). */
  from: string;
  date: string;
  /** The minutes it comes from, relative to minutesDir, without extension. */
  source?: string;
  /** Closed in this meeting (by whom, at which log line). */
  done?: { nick: string; line: number; time: number };
}

export interface Vote {
  question: string;
  options: string[];
  /** person key -> { nick, option }; insertion order is the order of the last votes. */
  votes: Map<string, { nick: string; option: string }>;
  startedBy: string;
  line: number;
}

export interface MeetingReply {
  text: string;
  kind: 'meeting' | 'error';
  /** Set the channel topic to this (the transport decides whether it may). */
  setTopic?: string;
  /** Put the channel topic back to what it was before the meeting (the manager knows it). */
  restoreTopic?: boolean;
}

export type MeetingEvent = { type: 'started' } | { type: 'save' } | { type: 'ended'; late?: boolean };

export interface FeedResult {
  /** True when the line was a meeting command (it must not be parsed as anything else). */
  handled: boolean;
  replies: MeetingReply[];
  events: MeetingEvent[];
}

export interface InputLine {
  nick: string;
  /** The text read for commands (an address to the bot removed). */
  text: string;
  /** The line exactly as said, for the log (default: `text`). */
  said?: string;
  /** Epoch milliseconds. */
  time: number;
  action?: boolean;
  /** The speaker's proven identity key (`user:…`, `account:…`, `discord:…`); absent: followed by nick. */
  person?: string;
}

export interface MeetingOptions {
  /** The channel's name as shown ('#kimchi'; a Discord channel's name, not its id). */
  channel: string;
  /** Network name for the keys of people known only by nick. */
  network?: string;
  /** Said in the start/end messages: where to read about meetings. */
  infoUrl?: string;
  /** The minutes' location without extension (URL or path), for the end / save messages. */
  locate?: (m: Meeting) => string;
  /**
   * Every log line as it is added. With `retainLines: false` the lines are only given here (a
   * replay streams them to disk instead of holding 100 000 lines in memory).
   */
  onLine?: (line: LogLine) => void;
  /** Keep the log lines in `lines` (default true; #save and the writers read them). */
  retainLines?: boolean;
  /** After this long without a line from a chair anyone may #endmeeting (default 60 min; 0: never). */
  idleEndMs?: number;
  /** Open action items of the channel's previous meeting, listed at #startmeeting. */
  carried?: CarriedAction[];
  /** False where plain channel lines are not seen (Discord without message content). */
  hearsChatter?: boolean;
}

/**
 * What `feed` returns for an ordinary line (most lines): one shared, frozen result instead of
 * a new object and two arrays per line. Nothing is ever added to it (a push would throw).
 */
const NOT_A_COMMAND: FeedResult = Object.freeze({
  handled: false,
  replies: Object.freeze([]) as unknown as MeetingReply[],
  events: Object.freeze([]) as unknown as MeetingEvent[],
});

/** The parsed command a line gives, or null (kept for callers that only ask "is it one?"). */
export function parseCommand(text: string): { command: string; arg: string } | null {
  const p = parseMeetingCommand(text);
  return p ? { command: p.name, arg: p.arg } : null;
}

/** True when the line opens a meeting. */
export function isStartMeeting(text: string): boolean {
  return parseMeetingCommand(stripIrcFormatting(text).trim())?.command.name === 'startmeeting';
}

const DEFAULT_IDLE_END_MS = 60 * 60_000;

/** MeetBot's meeting name: lower case, runs of spaces as one `_`. */
export function meetingNameOf(text: string): string {
  return text.toLowerCase().split(/\s+/).filter(Boolean).join('_');
}

interface Call {
  name: string;
  arg: string;
  line: LogLine;
  person: Person;
  result: FeedResult;
}

type Handlers = { [K in HandlerName as `on${Capitalize<K>}`]: (call: Call) => void };

export class Meeting implements Handlers {
  readonly channel: string;
  readonly network: string;
  /** The person who started the meeting (a Person key). */
  owner = '';
  started = false;
  ended = false;
  startTime = 0;
  endTime: number | null = null;
  /** The last time a line was seen (used by #save as the "so far" time). */
  lastTime = 0;
  /** The last time a chair said something (for the late #endmeeting). */
  lastChairTime = 0;
  name: string | null = null;
  meetingTopic: string | null = null;
  currentTopic = '';
  lurking = false;
  restrictLogs = false;
  /** How the meeting ended when it did not end with a chair's #endmeeting. */
  endedBy: 'chair' | 'late' | 'admin' | 'idle' | 'log-end' = 'chair';
  /** The log (empty when the options say not to retain lines). */
  readonly lines: LogLine[] = [];
  /** How many lines the log has. */
  lineCount = 0;
  readonly items: Item[] = [];
  /** Chairs other than the owner, by person key. */
  readonly chairs = new Set<string>();
  /** Chairs named before anyone spoke under that nick: nick key -> nick as given. */
  readonly pendingChairs = new Map<string, string>();
  /** Everyone who spoke (or was chaired), by person key. */
  readonly people = new Map<string, Person>();
  /** Names given with #nick: key -> nick. */
  readonly named = new Map<string, string>();
  /** Action items carried over from the previous meeting. */
  readonly carried: CarriedAction[];
  vote: Vote | null = null;
  private readonly opts: MeetingOptions;
  private readonly retain: boolean;
  private readonly idleEndMs: number;
  /** People known only by nick: current nick key -> person key. */
  private readonly byNick = new Map<string, string>();
  /** The last log line each nick said (for operation items). */
  private readonly lastLineOf = new Map<string, number>();

  constructor(opts: MeetingOptions) {
    this.opts = opts;
    this.retain = opts.retainLines !== false;
    this.channel = opts.channel;
    this.network = opts.network ?? '';
    this.idleEndMs = opts.idleEndMs ?? DEFAULT_IDLE_END_MS;
    this.carried = (opts.carried ?? []).map((c) => ({ ...c }));
  }

  /** The person a line is from: the proven key, else whoever goes by that nick now. */
  private personFor(nick: string, proven: string | undefined, time: number): Person {
    const k = nickKey(nick);
    let key = proven;
    if (!key) {
      key = this.byNick.get(k);
      if (!key) {
        // The key of someone first seen as `k`; another person who went by `k` before keeps theirs.
        key = `nick:${this.network}:${k}`;
        for (let n = 2; this.people.has(key); n++) key = `nick:${this.network}:${k}#${n}`;
        this.byNick.set(k, key);
      }
    }
    let p = this.people.get(key);
    if (!p) {
      p = { key, nicks: [nick], nick, count: 0, lastSeen: time };
      this.people.set(key, p);
    } else if (p.nick !== nick) {
      p.nick = nick;
      if (!p.nicks.some((n) => nickKey(n) === k)) p.nicks.push(nick);
    }
    // A chair named by nick before they spoke is this person.
    const pending = this.pendingChairs.get(k);
    if (pending !== undefined && key !== this.owner) {
      this.pendingChairs.delete(k);
      this.chairs.add(key);
    }
    return p;
  }

  /** The person going by `nick` now (the most recently active), if any. */
  personByNick(nick: string): Person | undefined {
    const k = nickKey(nick);
    let best: Person | undefined;
    for (const p of this.people.values()) {
      if (nickKey(p.nick) === k && (!best || p.lastSeen > best.lastSeen)) best = p;
    }
    return best;
  }

  isChair(personKey: string): boolean {
    return personKey === this.owner || this.chairs.has(personKey);
  }

  /** True when the person going by `nick` is a chair (or a chair was named by that nick). */
  isChairNick(nick: string): boolean {
    const p = this.personByNick(nick);
    if (p) return this.isChair(p.key);
    return this.pendingChairs.has(nickKey(nick));
  }

  /** How a person is named in replies: the nick they go by now. */
  nickOf(key: string): string {
    return this.people.get(key)?.nick ?? key.slice(key.lastIndexOf(':') + 1);
  }

  /** All chairs, owner included, by their current nicks, sorted case-insensitively. */
  chairList(): string[] {
    const all = [this.owner, ...this.chairs].map((k) => this.nickOf(k));
    all.push(...this.pendingChairs.values());
    return all.sort((a, b) => nickKey(a).localeCompare(nickKey(b)));
  }

  /** The owner's current nick. */
  ownerNick(): string {
    return this.nickOf(this.owner);
  }

  /** The minutes' base location (no extension) as the manager computes it. */
  location(): string {
    return this.opts.locate ? this.opts.locate(this) : '';
  }

  private infoSentence(): string {
    return this.opts.infoUrl
      ? `Information about virtbot meetings at ${this.opts.infoUrl} .`
      : 'Information about virtbot meetings: say #commands for the list of commands.';
  }

  /** Adds a line said by the bot itself: logged, never a command, never a person. */
  addBotLine(nick: string, text: string, time: number, action = false): LogLine {
    return this.log(nick, text, time, action, true);
  }

  private log(nick: string, rawText: string, time: number, action: boolean, bot: boolean): LogLine {
    const line: LogLine = {
      n: this.lineCount + 1,
      time,
      nick,
      text: stripIrcFormatting(rawText).trim(),
      action,
      bot,
    };
    this.lineCount++;
    if (this.retain) this.lines.push(line);
    this.opts.onLine?.(line);
    if (time > this.lastTime) this.lastTime = time;
    return line;
  }

  /**
   * Adds an operation run in this place during the meeting (rendered, e.g.
   * `alice: vm start web01 → ok: started`) as an OPERATION item under the current topic, with its
   * outcome. It is not a log line: nobody said it. The item points at the line that asked for it.
   */
  addOperation(nick: string, text: string, time: number, outcome: string): Item {
    const line = this.lastLineOf.get(nickKey(nick)) ?? this.lineCount;
    const item: Item = {
      type: 'OPERATION',
      text: stripIrcFormatting(text).trim(),
      nick,
      time,
      line,
      outcome,
    };
    const p = this.personByNick(nick);
    if (p) item.person = p.key;
    this.items.push(item);
    return item;
  }

  /**
   * Someone changed nick (IRC NICK, or "is now known as" in a log): they stay the same person,
   * with their chair rights, votes and line counts.
   */
  nickChange(from: string, to: string, time: number): void {
    if (this.ended) return;
    const fk = nickKey(from);
    const tk = nickKey(to);
    if (fk === tk) {
      for (const p of this.people.values()) if (nickKey(p.nick) === fk) p.nick = to;
      return;
    }
    const key = this.byNick.get(fk);
    if (key !== undefined) {
      this.byNick.delete(fk);
      this.byNick.set(tk, key);
    }
    for (const p of this.people.values()) {
      if (nickKey(p.nick) !== fk) continue;
      p.nick = to;
      if (!p.nicks.some((n) => nickKey(n) === tk)) p.nicks.push(to);
    }
    const pending = this.pendingChairs.get(fk);
    if (pending !== undefined) {
      this.pendingChairs.delete(fk);
      this.pendingChairs.set(tk, to);
    }
    const last = this.lastLineOf.get(fk);
    if (last !== undefined) this.lastLineOf.set(tk, last);
    if (time > this.lastTime) this.lastTime = time;
  }

  /** Feeds one line said in the channel by a person (never the bot: see addBotLine). */
  feed(input: InputLine): FeedResult {
    if (this.ended) return NOT_A_COMMAND;
    const action = input.action === true;
    const line = this.log(input.nick, input.said ?? input.text, input.time, action, false);
    this.lastLineOf.set(nickKey(input.nick), line.n);
    const text = input.said === undefined ? line.text : stripIrcFormatting(input.text).trim();
    if (!this.started) {
      if (action) return NOT_A_COMMAND;
      const cmd = parseMeetingCommand(text);
      if (cmd?.command.name !== 'startmeeting') return NOT_A_COMMAND;
    }
    const person = this.personFor(input.nick, input.person, input.time);
    if (this.started) this.count(person, input.time);
    if (this.isChair(person.key)) this.lastChairTime = input.time;

    if (action) return NOT_A_COMMAND;
    const cmd = parseMeetingCommand(text);
    if (!cmd) {
      if (!this.started) return NOT_A_COMMAND;
      if (startsWithUrl(text)) {
        this.addItem('LINK', text, line, person);
        return NOT_A_COMMAND;
      }
      const typo = meetingTypo(text);
      if (typo && !this.lurking) {
        return {
          handled: true,
          replies: [
            {
              text: `${input.nick}: #${typo}? (${text.split(/\s/, 1)[0]} is not a meeting command; #commands lists them)`,
              kind: 'error',
            },
          ],
          events: [],
        };
      }
      return NOT_A_COMMAND;
    }
    const result: FeedResult = { handled: true, replies: [], events: [] };
    this.command(cmd.command, cmd.name, cmd.arg, line, person, result);
    if (this.lurking) result.replies = [];
    return result;
  }

  private count(p: Person, time: number): void {
    p.count++;
    p.lastSeen = time;
  }

  private say(result: FeedResult, text: string, kind: MeetingReply['kind'] = 'meeting'): MeetingReply {
    const r: MeetingReply = { text, kind };
    result.replies.push(r);
    return r;
  }

  private addItem(type: ItemType, text: string, line: LogLine, person?: Person): Item {
    const item: Item = { type, text, nick: line.nick, time: line.time, line: line.n };
    if (person) item.person = person.key;
    this.items.push(item);
    return item;
  }

  /** Minutes without a chair line after which anyone may end the meeting. */
  idleEndMinutes(): number {
    return Math.round(this.idleEndMs / 60_000);
  }

  private lateEndAllowed(time: number): boolean {
    return this.idleEndMs > 0 && time - this.lastChairTime >= this.idleEndMs;
  }

  private command(
    command: MeetingCommand,
    name: string,
    arg: string,
    line: LogLine,
    person: Person,
    result: FeedResult,
  ): void {
    const nick = line.nick;
    if (command.who === 'chair' && !this.isChair(person.key)) {
      if (command.name === 'endmeeting' && this.lateEndAllowed(line.time)) {
        this.doEnd(line, result, 'late');
        return;
      }
      const late =
        command.name === 'endmeeting' && this.idleEndMs > 0
          ? `; anyone may end it once no chair has spoken for ${this.idleEndMinutes()} minutes`
          : '';
      this.say(
        result,
        `${nick}: only the chairs can use #${name} (chairs: ${this.chairList().join(', ')})${late}.`,
        'error',
      );
      return;
    }
    const call: Call = { name, arg, line, person, result };
    const effect = command.effect;
    if ('item' in effect) {
      if (!arg) {
        this.say(result, `${nick}: usage: #${name} TEXT`, 'error');
        return;
      }
      if (effect.item === 'ACTION') {
        const done = /^done\s+#?(\d+)$/i.exec(arg);
        if (done && this.carried.some((c) => c.id === Number(done[1]))) {
          this.onDone({ ...call, arg: done[1]! });
          return;
        }
      }
      this.addItem(effect.item, arg, line, person);
      return;
    }
    const run = effect.run;
    this[`on${run[0]!.toUpperCase()}${run.slice(1)}` as keyof Handlers](call);
  }

  onStart({ arg, line, person, result }: Call): void {
    if (this.started) {
      this.say(
        result,
        `A meeting is already in progress here, started by ${this.ownerNick()} at ${hms(this.startTime)} UTC; #endmeeting ends it.`,
        'error',
      );
      return;
    }
    this.started = true;
    this.owner = person.key;
    this.startTime = line.time;
    this.lastChairTime = line.time;
    this.count(person, line.time);
    if (arg) {
      // `#startmeeting Sprint 12 review`: the meeting's topic, and its name (file names).
      this.setMeetingTopic(arg);
      if (this.meetingTopic) this.name = meetingNameOf(arg);
    }
    result.events.push({ type: 'started' });
    const first = this.say(
      result,
      `Meeting started ${asctime(line.time)} UTC.  The chair is ${person.nick}. ${this.infoSentence()}`,
    );
    first.setTopic = this.channelTopic();
    this.say(result, usefulCommandsLine(this.opts));
    if (this.meetingTopic) this.say(result, `Meeting topic: ${this.meetingTopic}`);
    const open = this.carried.filter((c) => !c.done);
    if (open.length > 0) {
      const from = open[0]!;
      this.say(
        result,
        `Open action items from the last meeting (${from.from}, ${from.date}), '#done N' closes one:`,
      );
      for (const c of open) this.say(result, `${c.id}. ${c.text} (${c.nick})`);
    }
  }

  /** What the channel topic says during the meeting. */
  channelTopic(): string {
    const label = this.currentTopic || this.meetingTopic || this.name || 'meeting in progress';
    return this.currentTopic && this.meetingTopic
      ? `${this.currentTopic} (Meeting topic: ${this.meetingTopic})`
      : label;
  }

  onEnd({ line, result }: Call): void {
    this.doEnd(line, result, 'chair');
  }

  private doEnd(line: LogLine, result: FeedResult, how: 'chair' | 'late'): void {
    if (this.vote)
      this.onEndVote({ name: 'endvote', arg: '', line, person: this.people.get(this.owner)!, result });
    this.ended = true;
    this.endTime = line.time;
    this.endedBy = how;
    result.events.push(how === 'late' ? { type: 'ended', late: true } : { type: 'ended' });
    const base = this.location();
    const info = this.opts.infoUrl ? `  Information about virtbot meetings at ${this.opts.infoUrl} .` : '';
    const late =
      how === 'late'
        ? `  Ended by ${line.nick}: no chair had spoken for ${Math.floor((line.time - this.lastChairTime) / 60_000)} minutes.`
        : '';
    const r = this.say(result, `Meeting ended ${asctime(line.time)} UTC.${late}${info}`);
    r.restoreTopic = true;
    for (const l of this.endLines(base)) this.say(result, l);
  }

  /** The lines naming the files, said at the end. */
  endLines(base: string): string[] {
    return [
      `Minutes:        ${base}.html`,
      `Minutes (text): ${base}.txt`,
      `Log:            ${base}.log.html`,
    ];
  }

  /**
   * Ends the meeting without an #endmeeting line: a replayed log that stops before it (`log-end`),
   * an admin's `meeting end` (`admin`), or too long without a line (`idle`). An open vote is
   * closed into the minutes. The end time is `time`, else the last line's.
   */
  forceEnd(how: 'admin' | 'idle' | 'log-end' = 'log-end', time?: number): void {
    if (this.ended) return;
    const t = time ?? (this.lineCount > 0 ? this.lastTime : this.startTime);
    if (this.vote) this.closeVote(this.vote, this.vote.startedBy, t, this.lineCount);
    this.ended = true;
    this.endTime = t;
    this.endedBy = how;
  }

  private closeVote(vote: Vote, nick: string, time: number, line: number): string[] {
    this.vote = null;
    const lines = this.tally(vote);
    const text = `Voted on "${vote.question}" Results are: ${lines.length ? lines.join('; ') : '(no votes)'}`;
    this.items.push({ type: 'VOTE', text, nick, time, line });
    return lines;
  }

  onTopic({ name, arg, line, person, result }: Call): void {
    if (!arg) {
      this.say(result, `${line.nick}: usage: #${name} TEXT`, 'error');
      return;
    }
    this.currentTopic = arg;
    this.addItem('TOPIC', arg, line, person);
    this.say(result, `Current topic: ${this.topicLine()}`).setTopic = this.channelTopic();
  }

  onMeetingTopic({ arg, result }: Pick<Call, 'arg' | 'result'>): void {
    this.setMeetingTopic(arg);
    const r = this.say(
      result,
      this.meetingTopic ? `Meeting topic: ${this.meetingTopic}` : 'Meeting topic unset.',
    );
    r.setTopic = this.channelTopic();
  }

  onMeetingName({ name, arg, line, result }: Call): void {
    const n = meetingNameOf(arg);
    if (!n) {
      this.say(result, `${line.nick}: usage: #${name} NAME`, 'error');
      return;
    }
    this.name = n;
    this.say(result, `The meeting name has been set to '${n}'`);
  }

  onChair({ arg, result }: Call): void {
    for (const c of splitNicks(arg)) {
      const p = this.personByNick(c);
      if (p) {
        if (p.key !== this.owner) this.chairs.add(p.key);
      } else {
        this.pendingChairs.set(nickKey(c), c);
      }
    }
    this.say(result, `Current chairs: ${this.chairList().join(' ')}`);
  }

  onUnchair({ arg, result }: Call): void {
    let ownerKept = false;
    for (const c of splitNicks(arg)) {
      const p = this.personByNick(c);
      this.pendingChairs.delete(nickKey(c));
      if (!p) continue;
      if (p.key === this.owner) ownerKept = true;
      else this.chairs.delete(p.key);
    }
    if (ownerKept) this.say(result, `${this.ownerNick()} started the meeting and stays a chair.`, 'error');
    this.say(result, `Current chairs: ${this.chairList().join(' ')}`);
  }

  onUndo({ result }: Call): void {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i]!;
      if (item.type === 'OPERATION') continue;
      this.items.splice(i, 1);
      if (item.type === 'TOPIC') {
        const prev = [...this.items].reverse().find((it) => it.type === 'TOPIC');
        this.currentTopic = prev ? prev.text : '';
      }
      this.say(
        result,
        `Removing item from minutes: ${item.type}: ${item.text} (${item.nick}, ${hms(item.time)})`,
      );
      return;
    }
    this.say(result, 'There is no item to remove from the minutes.', 'error');
  }

  onSave({ result }: Call): void {
    result.events.push({ type: 'save' });
    this.say(result, `Minutes saved so far: ${this.location()}.html`);
  }

  onLurk(): void {
    this.lurking = true;
  }

  onUnlurk(): void {
    this.lurking = false;
  }

  onRestrictLogs({ result }: Pick<Call, 'result'>): void {
    this.restrictLogs = true;
    this.say(
      result,
      'Restricting permissions on minutes: -077 (no access for group and others) on the next #save and at #endmeeting',
    );
  }

  onNick({ name, arg, line, result }: Call): void {
    const names = splitNicks(arg);
    if (names.length === 0) {
      this.say(result, `${line.nick}: usage: #${name} NICK…`, 'error');
      return;
    }
    for (const n of names) {
      const k = nickKey(n);
      if (!this.named.has(k)) this.named.set(k, n);
    }
    this.say(result, `Nicks that can be assigned action items: ${names.join(', ')}`);
  }

  onCommands({ result }: Call): void {
    this.say(result, commandsReply());
  }

  onDone({ arg, line, result }: Call): void {
    const id = Number(/^#?(\d+)$/.exec(arg.trim())?.[1] ?? Number.NaN);
    const item = this.carried.find((c) => c.id === id);
    if (!item) {
      const open = this.carried.filter((c) => !c.done).map((c) => c.id);
      this.say(
        result,
        `${line.nick}: there is no carried-over action item ${arg || '(no number)'}${open.length ? ` (open: ${open.join(', ')})` : ' (none is open)'}.`,
        'error',
      );
      return;
    }
    if (item.done) {
      this.say(result, `Action item ${id} was already closed by ${item.done.nick}.`, 'error');
      return;
    }
    item.done = { nick: line.nick, line: line.n, time: line.time };
    this.say(result, `Closed action item ${id}: ${item.text}`);
  }

  topicLine(): string {
    return this.meetingTopic
      ? `${this.currentTopic} (Meeting topic: ${this.meetingTopic})`
      : this.currentTopic;
  }

  private setMeetingTopic(arg: string): void {
    const t = arg.trim();
    this.meetingTopic = t === '' || /^(none|unset)$/i.test(t) ? null : t;
  }

  onStartVote({ arg, line, result }: Call): void {
    if (this.vote) {
      this.say(result, `A vote is already open: "${this.vote.question}" (#endvote closes it).`, 'error');
      return;
    }
    const q = arg.lastIndexOf('?');
    if (q < 1) {
      this.say(
        result,
        'Unable to parse vote topic and options. Use: #startvote Question? Option1, Option2',
        'error',
      );
      return;
    }
    const question = arg.slice(0, q + 1).trim();
    const options = splitVoteOptions(arg.slice(q + 1));
    this.vote = { question, options, votes: new Map(), startedBy: line.nick, line: line.n };
    this.say(result, `Begin voting on: ${question} Valid vote options are ${options.join(', ')}.`);
    this.say(result, "Vote using '#vote OPTION'. Only your last vote counts.");
  }

  onVote({ arg, line, person, result }: Call): void {
    const vote = this.vote;
    if (!vote) {
      this.say(
        result,
        `${line.nick}: there is no vote open (a chair starts one with #startvote Question? A, B).`,
        'error',
      );
      return;
    }
    const choice = vote.options.find((o) => o.toLowerCase() === arg.trim().toLowerCase());
    if (!choice) {
      this.say(
        result,
        `${line.nick}: ${arg || '(nothing)'} is not a valid option. Valid options are ${vote.options.join(', ')}.`,
        'error',
      );
      return;
    }
    vote.votes.delete(person.key);
    vote.votes.set(person.key, { nick: line.nick, option: choice });
  }

  /** `Yes (2): alice, bob` per option with votes, in the options' order. */
  tally(vote: Vote): string[] {
    const out: string[] = [];
    for (const option of vote.options) {
      const voters = [...vote.votes.entries()]
        .filter(([, v]) => v.option === option)
        .map(([key, v]) => this.people.get(key)?.nick ?? v.nick);
      if (voters.length > 0) out.push(`${option} (${voters.length}): ${voters.join(', ')}`);
    }
    return out;
  }

  onShowVote({ result }: Call): void {
    if (!this.vote) {
      this.say(result, 'There is no vote open.', 'error');
      return;
    }
    const lines = this.tally(this.vote);
    if (lines.length === 0) this.say(result, `No votes yet on "${this.vote.question}".`);
    for (const l of lines) this.say(result, l);
  }

  onEndVote({ line, result }: Call): void {
    const vote = this.vote;
    if (!vote) {
      this.say(result, 'There is no vote open.', 'error');
      return;
    }
    const lines = this.closeVote(vote, line.nick, line.time, line.n);
    this.say(result, `Voted on "${vote.question}" Results are`);
    if (lines.length === 0) this.say(result, '(no votes)');
    for (const l of lines) this.say(result, l);
  }

  /** The start date, for messages. */
  startDate(): string {
    return ymd(this.startTime);
  }
}
