/**
 * The meeting commands, declared once. Everything that knows about a meeting command comes from
 * MEETING_COMMANDS: the parser (`parseMeetingCommand`, MeetBot's forgiving syntax: `#ACTION`,
 * `#action: text`), the state machine's permission check and dispatch (each entry's `effect`),
 * `#commands`, the "did you mean" for a mistyped `#comand`, the Discord `/meeting` subcommands
 * (`slashMeetingLines`), the meetings section of docs/COMMANDS.md (`meetingReference`), the help
 * line (`meetingHelpLine`) and the coverage test.
 */
import type { Place } from '../core/types.js';
import { editDistance } from '../grammar/suggest.js';

/** The kinds of minutes item a line can add. */
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

/** What a command does: add an item of a type, or run one of the state machine's handlers. */
export type Effect =
  | { item: Exclude<ItemType, 'TOPIC' | 'VOTE' | 'OPERATION'> }
  | {
      run:
        | 'start'
        | 'end'
        | 'topic'
        | 'meetingTopic'
        | 'meetingName'
        | 'chair'
        | 'unchair'
        | 'undo'
        | 'save'
        | 'lurk'
        | 'unlurk'
        | 'restrictLogs'
        | 'nick'
        | 'commands'
        | 'startVote'
        | 'vote'
        | 'showVote'
        | 'endVote'
        | 'done';
    };

export type HandlerName = Extract<Effect, { run: string }>['run'];

export interface MeetingCommand {
  /** Canonical name, typed after '#'. */
  name: string;
  /** Other names for the same command (MeetBot's `#agree`, `#halp`, …). */
  aliases: readonly string[];
  /** Who may use it during a meeting. */
  who: 'chair' | 'anyone';
  /** Its argument, if it takes one. */
  arg?: { name: string; help: string; required: boolean };
  /** One short sentence (also the Discord description: at most 100 characters). */
  help: string;
  effect: Effect;
  /** The `/meeting` subcommand, or null with the reason it has none. */
  slash: string | { none: string };
  /** Its place in "Useful Commands" at #startmeeting and in the minutes (MeetBot's list and order). */
  useful?: number;
}

const TEXT = (help: string) => ({ name: 'text', help, required: true });

export const MEETING_COMMANDS: readonly MeetingCommand[] = [
  {
    name: 'startmeeting',
    aliases: [],
    who: 'anyone',
    arg: { name: 'topic', help: 'The meeting topic (optional)', required: false },
    help: 'Start a meeting here; whoever starts it is its first chair',
    effect: { run: 'start' },
    slash: 'start',
  },
  {
    name: 'endmeeting',
    aliases: [],
    who: 'chair',
    help: 'End the meeting and write the minutes (anyone may, once no chair has spoken for a while)',
    effect: { run: 'end' },
    slash: 'end',
  },
  {
    name: 'topic',
    aliases: [],
    who: 'chair',
    arg: TEXT('The topic'),
    help: 'Set the current topic; the items that follow go under it',
    effect: { run: 'topic' },
    slash: 'topic',
    useful: 7,
  },
  {
    name: 'meetingtopic',
    aliases: [],
    who: 'chair',
    arg: { name: 'text', help: "The meeting's topic, or 'none'", required: false },
    help: "Set the meeting's own topic, shown with every topic ('none' unsets it)",
    effect: { run: 'meetingTopic' },
    slash: 'meeting-topic',
  },
  {
    name: 'meetingname',
    aliases: [],
    who: 'chair',
    arg: { name: 'name', help: 'Meeting name', required: true },
    help: 'Set the meeting name, used in the minutes file names',
    effect: { run: 'meetingName' },
    slash: 'name',
  },
  {
    name: 'info',
    aliases: [],
    who: 'anyone',
    arg: TEXT('The information'),
    help: 'Add an information item',
    effect: { item: 'INFO' },
    slash: 'info',
    useful: 4,
  },
  {
    name: 'action',
    aliases: [],
    who: 'anyone',
    arg: TEXT('Who does what (name the people)'),
    help: 'Add an action item; the people it names are listed with it',
    effect: { item: 'ACTION' },
    slash: 'action',
    useful: 1,
  },
  {
    name: 'done',
    aliases: ['actiondone'],
    who: 'anyone',
    arg: { name: 'number', help: 'The number of the carried-over action item', required: true },
    help: "Close an action item carried over from the last meeting (also '#action done N')",
    effect: { run: 'done' },
    slash: 'done',
  },
  {
    name: 'agreed',
    aliases: ['agree'],
    who: 'chair',
    arg: TEXT('What was agreed'),
    help: 'Record an agreement',
    effect: { item: 'AGREED' },
    slash: 'agreed',
    useful: 2,
  },
  {
    name: 'accepted',
    aliases: ['accept'],
    who: 'chair',
    arg: TEXT('What was accepted'),
    help: 'Record something accepted',
    effect: { item: 'ACCEPTED' },
    slash: 'accepted',
  },
  {
    name: 'rejected',
    aliases: ['reject'],
    who: 'chair',
    arg: TEXT('What was rejected'),
    help: 'Record something rejected',
    effect: { item: 'REJECTED' },
    slash: 'rejected',
  },
  {
    name: 'idea',
    aliases: [],
    who: 'anyone',
    arg: TEXT('The idea'),
    help: 'Record an idea',
    effect: { item: 'IDEA' },
    slash: 'idea',
    useful: 5,
  },
  {
    name: 'help',
    aliases: ['halp'],
    who: 'anyone',
    arg: TEXT('What help is needed'),
    help: 'Record a call for help',
    effect: { item: 'HELP' },
    slash: 'help',
    useful: 3,
  },
  {
    name: 'link',
    aliases: [],
    who: 'anyone',
    arg: TEXT('URL and description'),
    help: 'Record a link (a line that starts with a URL is a link too)',
    effect: { item: 'LINK' },
    slash: 'link',
    useful: 6,
  },
  {
    name: 'chair',
    aliases: [],
    who: 'chair',
    arg: { name: 'nicks', help: 'Nicks, space- or comma-separated', required: true },
    help: 'Add chairs',
    effect: { run: 'chair' },
    slash: 'chair',
  },
  {
    name: 'unchair',
    aliases: [],
    who: 'chair',
    arg: { name: 'nicks', help: 'Nicks, space- or comma-separated', required: true },
    help: 'Remove chairs (the one who started the meeting stays)',
    effect: { run: 'unchair' },
    slash: 'unchair',
  },
  {
    name: 'undo',
    aliases: [],
    who: 'chair',
    help: 'Remove the last item from the minutes (never an operation record)',
    effect: { run: 'undo' },
    slash: 'undo',
  },
  {
    name: 'nick',
    aliases: [],
    who: 'anyone',
    arg: { name: 'nicks', help: 'Nicks, space- or comma-separated', required: true },
    help: 'Name people who may be given action items without having spoken',
    effect: { run: 'nick' },
    slash: 'nick',
  },
  {
    name: 'save',
    aliases: [],
    who: 'chair',
    help: 'Write the minutes so far',
    effect: { run: 'save' },
    slash: 'save',
  },
  {
    name: 'lurk',
    aliases: [],
    who: 'chair',
    help: 'Keep the minutes but say nothing until #unlurk',
    effect: { run: 'lurk' },
    slash: 'lurk',
  },
  {
    name: 'unlurk',
    aliases: [],
    who: 'chair',
    help: 'Speak again after #lurk',
    effect: { run: 'unlurk' },
    slash: 'unlurk',
  },
  {
    name: 'restrictlogs',
    aliases: [],
    who: 'chair',
    help: 'Make the minutes files readable by their owner only',
    effect: { run: 'restrictLogs' },
    slash: { none: "Discord allows 25 subcommands; mention the bot: '@virtbot #restrictlogs'" },
  },
  {
    name: 'commands',
    aliases: [],
    who: 'anyone',
    help: 'List the meeting commands',
    effect: { run: 'commands' },
    slash: { none: 'Discord lists the /meeting subcommands itself' },
  },
  {
    name: 'startvote',
    aliases: [],
    who: 'chair',
    arg: { name: 'question', help: 'Question? Option1, Option2 (or: Question? A B C)', required: true },
    help: 'Open a vote; without options the choices are Yes and No',
    effect: { run: 'startVote' },
    slash: 'vote-start',
  },
  {
    name: 'vote',
    aliases: [],
    who: 'anyone',
    arg: { name: 'option', help: 'One of the options', required: true },
    help: 'Vote in the open vote; only your last vote counts',
    effect: { run: 'vote' },
    slash: 'vote',
  },
  {
    name: 'showvote',
    aliases: [],
    who: 'anyone',
    help: 'Show the votes so far',
    effect: { run: 'showVote' },
    slash: 'vote-show',
  },
  {
    name: 'endvote',
    aliases: [],
    who: 'chair',
    help: 'Close the vote and put its result in the minutes',
    effect: { run: 'endVote' },
    slash: 'vote-end',
  },
];

const BY_NAME = new Map<string, MeetingCommand>();
for (const c of MEETING_COMMANDS) for (const n of [c.name, ...c.aliases]) BY_NAME.set(n, c);

/** Every name a meeting command answers to (canonical and aliases), sorted. */
export const MEETING_COMMAND_NAMES: readonly string[] = [...BY_NAME.keys()].sort();

/** MeetBot's "Useful Commands" list, from the table. */
export const USEFUL_COMMANDS = MEETING_COMMANDS.filter((c) => c.useful !== undefined)
  .sort((a, b) => a.useful! - b.useful!)
  .map((c) => `#${c.name}`)
  .join(' ');

export function meetingCommand(name: string): MeetingCommand | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export interface ParsedMeetingCommand {
  command: MeetingCommand;
  /** The name as typed, lower case (an alias stays the alias: `#agree`). */
  name: string;
  arg: string;
}

/** `#word`, `#word:`, `#WORD text`, `#word: text` at the start of a line. */
const COMMAND_RE = /^#([A-Za-z]+):?(?:[ \t]+([\s\S]*))?$/;

/** The meeting command a line starts with, or null (an unknown `#word` is an ordinary line). */
export function parseMeetingCommand(text: string): ParsedMeetingCommand | null {
  if (text.charCodeAt(0) !== 35) return null; // '#'
  const m = COMMAND_RE.exec(text);
  if (!m) return null;
  const name = m[1]!.toLowerCase();
  const command = BY_NAME.get(name);
  if (!command) return null;
  return { command, name, arg: (m[2] ?? '').trim() };
}

/**
 * For a `#word` that is no command: the command it is probably a typo of (`#comand`, `#endmeting`,
 * `#acton`), or undefined. Short words and words far from every name are left alone, so `#1`,
 * `#virt` and `#kimchi` stay chatter.
 */
export function meetingTypo(text: string): string | undefined {
  const m = /^#([A-Za-z]{4,})\b:?/.exec(text);
  if (!m) return undefined;
  const word = m[1]!.toLowerCase();
  if (BY_NAME.has(word)) return undefined;
  const limit = word.length >= 6 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const name of MEETING_COMMAND_NAMES) {
    if (Math.abs(name.length - word.length) > limit) continue;
    const d = editDistance(word, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** The `#commands` answer. */
export function commandsReply(): string {
  return `Available commands: ${MEETING_COMMAND_NAMES.map((c) => `#${c}`).join(' ')}`;
}

/**
 * Vote options as MeetBot's users write them: after the question mark, split on commas when
 * there are any (`Yes, No, Maybe later`), else on spaces (`vim emacs nano`). Empty and duplicate
 * (case-insensitive) options are dropped; none at all means Yes and No.
 */
export function splitVoteOptions(text: string): string[] {
  const parts = text.includes(',') ? text.split(',') : text.split(/\s+/);
  const seen = new Set<string>();
  const options: string[] = [];
  for (const p of parts) {
    const t = p.trim();
    if (t && !seen.has(t.toLowerCase())) {
      seen.add(t.toLowerCase());
      options.push(t);
    }
  }
  return options.length > 0 ? options : ['Yes', 'No'];
}

/** One `/meeting …` subcommand, in the shape src/transports/slash.ts builds from. */
export interface SlashMeetingLine {
  name: string;
  keyword: string;
  help: string;
  arg?: { name: string; help: string; required: boolean };
}

/** The `/meeting` subcommands, derived from the table (those with a slash name). */
export function slashMeetingLines(): SlashMeetingLine[] {
  const out: SlashMeetingLine[] = [];
  for (const c of MEETING_COMMANDS) {
    if (typeof c.slash !== 'string') continue;
    const line: SlashMeetingLine = { name: c.slash, keyword: `#${c.name}`, help: c.help };
    if (c.arg) line.arg = { ...c.arg };
    out.push(line);
  }
  return out;
}

/**
 * The short help line for meetings: the usual commands, worded for where it is said. Where the
 * bot cannot see plain channel lines (Discord without the Message Content intent) it points to
 * `/meeting …` and mentions instead of `#info`.
 */
export function meetingHelpLine(place?: Pick<Place, 'hearsChatter'>): string {
  if (place?.hearsChatter === false) {
    return "meetings: /meeting start, /meeting topic, /meeting info, /meeting action, /meeting end — or mention me: '@virtbot #info …' (plain #info lines are not visible to me here)";
  }
  return "meetings: #startmeeting, #topic, #info, #action, #agreed, #endmeeting — '#commands' lists them all";
}

/** The sentence the bot says at #startmeeting about how to add items. */
export function usefulCommandsLine(place?: Pick<Place, 'hearsChatter'>): string {
  if (place?.hearsChatter === false) {
    return "Useful Commands: /meeting info, /meeting action, /meeting agreed, /meeting topic (or mention me: '@virtbot #info …'; plain #info lines are not visible to me here).";
  }
  return `Useful Commands: ${USEFUL_COMMANDS}.`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The meetings section of docs/COMMANDS.md (Markdown lines). */
export function meetingReference(): string[] {
  const lines = [
    '## Meetings — MeetBot-style meeting lines',
    '',
    'A line said in a channel that starts with one of these is a meeting line (case-insensitive;',
    '`#action: text` works too). Outside a meeting only `#startmeeting` means anything. Chairs are',
    'the person who started the meeting and those given `#chair`; they are followed by their',
    'services account or Discord id, or across nick changes. On Discord each has a `/meeting`',
    'subcommand; mentioning the bot (`@virtbot #info …`) works everywhere.',
    '',
    '| line | also | who | what it does | Discord |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const c of MEETING_COMMANDS) {
    const usage = c.arg
      ? `#${c.name} ${c.arg.required ? c.arg.name.toUpperCase() : `[${c.arg.name.toUpperCase()}]`}`
      : `#${c.name}`;
    const also = c.aliases.map((a) => `\`#${a}\``).join(', ');
    const slash = typeof c.slash === 'string' ? `\`/meeting ${c.slash}\`` : `— (${c.slash.none})`;
    lines.push(
      `| \`${cell(usage)}\` | ${also} | ${c.who === 'chair' ? 'chairs' : 'anyone'} | ${cell(c.help)} | ${cell(slash)} |`,
    );
  }
  lines.push(
    '',
    'Files: on `#endmeeting` (and `#save`) the minutes go to `minutesDir/[NETWORK/]CHANNEL/YYYY/NAME.YYYY-MM-DD-HH.MM`',
    'with the extensions `.html`, `.txt`, `.md`, `.json` (see [MINUTES.md](MINUTES.md)), `.log.html` and `.log.txt`;',
    'an existing file is never overwritten (a `-2` suffix is added). `index.html` in each channel folder and in',
    'minutesDir lists every meeting.',
    '',
  );
  return lines;
}
