/**
 * The meeting state machine of one place (channel): pure and synchronous, no I/O.
 *
 * Lines go in (`feed`), replies and events come out. The caller (MeetingManager) sends the
 * replies, adds them back as the bot's own lines (`addBotLine`) so they are in the log, journals
 * every line, and writes the minutes on the `save` / `ended` events. Replaying a journal or an
 * IRC log through `feed` / `addBotLine` rebuilds exactly the same meeting.
 *
 * Semantics follow Debian/Limnoria MeetBot: commands start a line with `#` (case-insensitive);
 * chairs (the owner and those chaired) set topics, decisions (#agreed/#accepted/#rejected), the
 * meeting name, chairs, undo, save, lurk, restrictlogs, votes and end the meeting; anyone adds
 * #info/#action/#idea/#help/#link items, names people with #nick, votes and lists commands.
 * Unlike MeetBot, a refused command gets an answer instead of silence, nick comparisons are
 * IRC-case-insensitive, the bot and the merely-named are not "people present", and #undo never
 * removes an operation record.
 */
import { asctime, hms, nickKey, splitNicks, startsWithUrl, stripIrcFormatting } from './text.js';

export type ItemType =
  | 'TOPIC'
  | 'INFO'
  | 'ACTION'
  | 'AGREED'
  | 'ACCEPTED'
  | 'REJECTED'
  | 'IDEA'
  | 'HELP'
  | 'LINK'
  | 'VOTE'
  | 'OPERATION';

/** One line of the meeting log, 1-based `n` (the HTML log's anchor is `l-n`). */
export interface LogLine {
  n: number;
  /** Epoch milliseconds. */
  time: number;
  nick: string;
  text: string;
  action: boolean;
  /** Said by the bot itself (never a person present, never a command). */
  bot: boolean;
}

export interface Item {
  type: ItemType;
  text: string;
  nick: string;
  time: number;
  /** The log line it came from. */
  line: number;
  /** For OPERATION items: ok, denied, failed, … */
  outcome?: string;
}

export interface Vote {
  question: string;
  options: string[];
  /** nick key -> { nick, option }; insertion order is the order of the last votes. */
  votes: Map<string, { nick: string; option: string }>;
  startedBy: string;
  line: number;
}

export interface MeetingReply {
  text: string;
  kind: 'meeting' | 'error';
}

export type MeetingEvent = { type: 'started' } | { type: 'save' } | { type: 'ended' };

export interface FeedResult {
  /** True when the line was a meeting command (it must not be parsed as anything else). */
  handled: boolean;
  replies: MeetingReply[];
  events: MeetingEvent[];
}

export interface InputLine {
  nick: string;
  text: string;
  /** Epoch milliseconds. */
  time: number;
  action?: boolean;
}

export interface MeetingOptions {
  channel: string;
  botNick: string;
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
}

/** Chair-only commands (MeetBot's isChair checks, plus #meetingname and the vote controls). */
const CHAIR_COMMANDS = new Set([
  'endmeeting',
  'topic',
  'meetingtopic',
  'meetingname',
  'chair',
  'unchair',
  'undo',
  'save',
  'lurk',
  'unlurk',
  'restrictlogs',
  'agreed',
  'agree',
  'accepted',
  'accept',
  'rejected',
  'reject',
  'startvote',
  'endvote',
]);

const ANYONE_COMMANDS = new Set([
  'startmeeting',
  'info',
  'action',
  'idea',
  'help',
  'halp',
  'link',
  'nick',
  'commands',
  'vote',
  'showvote',
]);

export const MEETING_COMMANDS: readonly string[] = [...CHAIR_COMMANDS, ...ANYONE_COMMANDS].sort();

const ITEM_COMMANDS: Record<string, ItemType> = {
  info: 'INFO',
  action: 'ACTION',
  idea: 'IDEA',
  help: 'HELP',
  halp: 'HELP',
  link: 'LINK',
  agreed: 'AGREED',
  agree: 'AGREED',
  accepted: 'ACCEPTED',
  accept: 'ACCEPTED',
  rejected: 'REJECTED',
  reject: 'REJECTED',
};

/**
 * What `feed` returns for an ordinary line (most lines): one shared, frozen result instead of
 * a new object and two arrays per line. Nothing is ever added to it (a push would throw).
 */
const NOT_A_COMMAND: FeedResult = Object.freeze({
  handled: false,
  replies: Object.freeze([]) as unknown as MeetingReply[],
  events: Object.freeze([]) as unknown as MeetingEvent[],
});

export const USEFUL_COMMANDS = '#action #agreed #help #info #idea #link #topic';

/** `#word rest` at the start of a line: the command (lower case) and its argument, or null. */
export function parseCommand(text: string): { command: string; arg: string } | null {
  if (text.charCodeAt(0) !== 35) return null; // '#'
  const m = /^#([A-Za-z]+)(?:[ \t]+([\s\S]*))?$/.exec(text);
  if (!m) return null;
  const command = m[1]!.toLowerCase();
  if (!CHAIR_COMMANDS.has(command) && !ANYONE_COMMANDS.has(command)) return null;
  return { command, arg: (m[2] ?? '').trim() };
}

/** True when the line opens a meeting. */
export function isStartMeeting(text: string): boolean {
  return parseCommand(stripIrcFormatting(text).trim())?.command === 'startmeeting';
}

export class Meeting {
  readonly channel: string;
  readonly botNick: string;
  owner = '';
  started = false;
  ended = false;
  startTime = 0;
  endTime: number | null = null;
  /** The last time a line was seen (used by #save as the "so far" time). */
  lastTime = 0;
  name: string | null = null;
  meetingTopic: string | null = null;
  currentTopic = '';
  lurking = false;
  restrictLogs = false;
  /** The log (empty when the options say not to retain lines). */
  readonly lines: LogLine[] = [];
  /** How many lines the log has. */
  lineCount = 0;
  readonly items: Item[] = [];
  /** Chairs other than the owner: key -> nick as given. */
  readonly chairs = new Map<string, string>();
  /** Real speakers: key -> { nick as first seen, lines said }. */
  readonly people = new Map<string, { nick: string; count: number }>();
  /** Names given with #nick: key -> nick. */
  readonly named = new Map<string, string>();
  vote: Vote | null = null;
  private readonly opts: MeetingOptions;
  private readonly botKey: string;
  private readonly retain: boolean;

  constructor(opts: MeetingOptions) {
    this.opts = opts;
    this.retain = opts.retainLines !== false;
    this.channel = opts.channel;
    this.botNick = opts.botNick;
    this.botKey = nickKey(opts.botNick);
  }

  isChair(nick: string): boolean {
    const k = nickKey(nick);
    return k === nickKey(this.owner) || this.chairs.has(k);
  }

  /** All chairs, owner included, sorted case-insensitively. */
  chairList(): string[] {
    const all = [this.owner, ...this.chairs.values()];
    return all.sort((a, b) => nickKey(a).localeCompare(nickKey(b)));
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
  addBotLine(text: string, time: number, action = false): LogLine {
    return this.log(this.botNick, text, time, action, true);
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
   * Adds an operation run in this place during the meeting (already rendered as an
   * `#info`-style line, e.g. `alice: vm start web01 → ok: started`): a bot line in the log and
   * an OPERATION item under the current topic, keeping its outcome.
   */
  addOperation(nick: string, text: string, time: number, outcome: string): Item {
    const line = this.addBotLine(text, time);
    const item: Item = { type: 'OPERATION', text: line.text, nick, time, line: line.n, outcome };
    this.items.push(item);
    return item;
  }

  /** Feeds one line said in the channel. */
  feed(input: InputLine): FeedResult {
    if (this.ended) return NOT_A_COMMAND;
    const key = nickKey(input.nick);
    const bot = key === this.botKey;
    const action = input.action === true;
    const line = this.log(input.nick, input.text, input.time, action, bot);
    if (bot) return NOT_A_COMMAND;
    if (this.started) this.count(input.nick, key);

    if (action) return NOT_A_COMMAND;
    const cmd = parseCommand(line.text);
    if (!cmd) {
      if (this.started && startsWithUrl(line.text)) this.addItem('LINK', line.text, line);
      return NOT_A_COMMAND;
    }
    if (!this.started && cmd.command !== 'startmeeting') return NOT_A_COMMAND;
    const result: FeedResult = { handled: true, replies: [], events: [] };
    this.command(cmd.command, cmd.arg, line, result);
    if (this.lurking) result.replies = [];
    return result;
  }

  private count(nick: string, key: string): void {
    const p = this.people.get(key);
    if (p) p.count++;
    else this.people.set(key, { nick, count: 1 });
  }

  private say(result: FeedResult, text: string, kind: MeetingReply['kind'] = 'meeting'): void {
    result.replies.push({ text, kind });
  }

  private addItem(type: ItemType, text: string, line: LogLine): Item {
    const item: Item = { type, text, nick: line.nick, time: line.time, line: line.n };
    this.items.push(item);
    return item;
  }

  private command(command: string, arg: string, line: LogLine, result: FeedResult): void {
    const nick = line.nick;
    if (CHAIR_COMMANDS.has(command) && !this.isChair(nick)) {
      this.say(
        result,
        `${nick}: only the chairs can use #${command} (chairs: ${this.chairList().join(', ')}).`,
        'error',
      );
      return;
    }
    const itemType = ITEM_COMMANDS[command];
    if (itemType) {
      if (!arg) {
        this.say(result, `${nick}: usage: #${command} TEXT`, 'error');
        return;
      }
      this.addItem(itemType, arg, line);
      return;
    }
    switch (command) {
      case 'startmeeting':
        this.doStart(arg, line, result);
        return;
      case 'endmeeting':
        this.doEnd(line, result);
        return;
      case 'topic':
        if (!arg) {
          this.say(result, `${nick}: usage: #topic TEXT`, 'error');
          return;
        }
        this.currentTopic = arg;
        this.addItem('TOPIC', arg, line);
        this.say(result, `Current topic: ${this.topicLine()}`);
        return;
      case 'meetingtopic':
        this.setMeetingTopic(arg);
        this.say(result, this.meetingTopic ? `Meeting topic: ${this.meetingTopic}` : 'Meeting topic unset.');
        return;
      case 'meetingname': {
        const name = arg.toLowerCase().split(/\s+/).filter(Boolean).join('_');
        if (!name) {
          this.say(result, `${nick}: usage: #meetingname NAME`, 'error');
          return;
        }
        this.name = name;
        this.say(result, `The meeting name has been set to '${name}'`);
        return;
      }
      case 'chair':
        for (const c of splitNicks(arg)) {
          const k = nickKey(c);
          if (k !== nickKey(this.owner) && !this.chairs.has(k)) this.chairs.set(k, c);
        }
        this.say(result, `Current chairs: ${this.chairList().join(' ')}`);
        return;
      case 'unchair': {
        let ownerKept = false;
        for (const c of splitNicks(arg)) {
          const k = nickKey(c);
          if (k === nickKey(this.owner)) ownerKept = true;
          else this.chairs.delete(k);
        }
        if (ownerKept) this.say(result, `${this.owner} started the meeting and stays a chair.`, 'error');
        this.say(result, `Current chairs: ${this.chairList().join(' ')}`);
        return;
      }
      case 'undo':
        this.doUndo(result);
        return;
      case 'save':
        result.events.push({ type: 'save' });
        this.say(result, `Minutes saved so far: ${this.location()}.html`);
        return;
      case 'lurk':
        this.lurking = true;
        return;
      case 'unlurk':
        this.lurking = false;
        return;
      case 'restrictlogs':
        this.restrictLogs = true;
        this.say(
          result,
          'Restricting permissions on minutes: -077 (no access for group and others) on the next #save and at #endmeeting',
        );
        return;
      case 'nick': {
        const names = splitNicks(arg);
        if (names.length === 0) {
          this.say(result, `${nick}: usage: #nick NICK…`, 'error');
          return;
        }
        for (const n of names) {
          const k = nickKey(n);
          if (k !== this.botKey && !this.named.has(k)) this.named.set(k, n);
        }
        this.say(result, `Nicks that can be assigned action items: ${names.join(', ')}`);
        return;
      }
      case 'commands':
        this.say(result, `Available commands: ${MEETING_COMMANDS.map((c) => '#' + c).join(' ')}`);
        return;
      case 'startvote':
        this.doStartVote(arg, line, result);
        return;
      case 'vote':
        this.doVote(arg, line, result);
        return;
      case 'showvote':
        this.doShowVote(result);
        return;
      case 'endvote':
        this.doEndVote(line, result);
        return;
    }
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

  private doStart(arg: string, line: LogLine, result: FeedResult): void {
    if (this.started) {
      this.say(
        result,
        `A meeting is already in progress here, started by ${this.owner} at ${hms(this.startTime)} UTC; #endmeeting ends it.`,
        'error',
      );
      return;
    }
    this.started = true;
    this.owner = line.nick;
    this.startTime = line.time;
    this.count(line.nick, nickKey(line.nick));
    if (arg) this.setMeetingTopic(arg);
    result.events.push({ type: 'started' });
    this.say(
      result,
      `Meeting started ${asctime(line.time)} UTC.  The chair is ${this.owner}. ${this.infoSentence()}`,
    );
    this.say(result, `Useful Commands: ${USEFUL_COMMANDS}.`);
    if (this.meetingTopic) this.say(result, `Meeting topic: ${this.meetingTopic}`);
  }

  private doEnd(line: LogLine, result: FeedResult): void {
    if (this.vote) this.doEndVote(line, result);
    this.ended = true;
    this.endTime = line.time;
    result.events.push({ type: 'ended' });
    const base = this.location();
    const info = this.opts.infoUrl ? `  Information about virtbot meetings at ${this.opts.infoUrl} .` : '';
    this.say(result, `Meeting ended ${asctime(line.time)} UTC.${info}`);
    this.say(result, `Minutes:        ${base}.html`);
    this.say(result, `Minutes (text): ${base}.txt`);
    this.say(result, `Log:            ${base}.log.html`);
  }

  /**
   * Ends the meeting without an #endmeeting line (a replayed log that stops before it):
   * an open vote is closed into the minutes, the end time is the last line's.
   */
  forceEnd(): void {
    if (this.ended) return;
    const time = this.lineCount > 0 ? this.lastTime : this.startTime;
    if (this.vote) this.closeVote(this.vote, this.vote.startedBy, time, this.lineCount);
    this.ended = true;
    this.endTime = time;
  }

  private closeVote(vote: Vote, nick: string, time: number, line: number): string[] {
    this.vote = null;
    const lines = this.tally(vote);
    const text = `Voted on "${vote.question}" Results are: ${lines.length ? lines.join('; ') : '(no votes)'}`;
    this.items.push({ type: 'VOTE', text, nick, time, line });
    return lines;
  }

  private doUndo(result: FeedResult): void {
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

  private doStartVote(arg: string, line: LogLine, result: FeedResult): void {
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
    const seen = new Set<string>();
    const options: string[] = [];
    for (const o of arg.slice(q + 1).split(',')) {
      const t = o.trim();
      if (t && !seen.has(t.toLowerCase())) {
        seen.add(t.toLowerCase());
        options.push(t);
      }
    }
    if (options.length === 0) options.push('Yes', 'No');
    this.vote = { question, options, votes: new Map(), startedBy: line.nick, line: line.n };
    this.say(result, `Begin voting on: ${question} Valid vote options are ${options.join(', ')}.`);
    this.say(result, "Vote using '#vote OPTION'. Only your last vote counts.");
  }

  private doVote(arg: string, line: LogLine, result: FeedResult): void {
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
    const key = nickKey(line.nick);
    vote.votes.delete(key);
    vote.votes.set(key, { nick: line.nick, option: choice });
  }

  /** `Yes (2): alice, bob` per option with votes, in the options' order. */
  tally(vote: Vote): string[] {
    const out: string[] = [];
    for (const option of vote.options) {
      const voters = [...vote.votes.values()].filter((v) => v.option === option).map((v) => v.nick);
      if (voters.length > 0) out.push(`${option} (${voters.length}): ${voters.join(', ')}`);
    }
    return out;
  }

  private doShowVote(result: FeedResult): void {
    if (!this.vote) {
      this.say(result, 'There is no vote open.', 'error');
      return;
    }
    const lines = this.tally(this.vote);
    if (lines.length === 0) this.say(result, `No votes yet on "${this.vote.question}".`);
    for (const l of lines) this.say(result, l);
  }

  private doEndVote(line: LogLine, result: FeedResult): void {
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
}
