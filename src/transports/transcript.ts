/**
 * Transcript tests: a chat log with expectations, run through the real pipeline with no chat
 * server. The format:
 *
 *   [HH:MM:SS ]<nick> text     nick says text (the time sets the clock)
 *   [HH:MM:SS ]* nick text     an action (/me) line
 *   >>> text | >>> /regex/     a bot line after the last matched one contains text / matches
 *   !!! text | !!! /regex/     none of the replies to the most recent message contains / matches
 *   ; place: private           (a header) the transcript is a private conversation with the bot
 *   ; place: #ops              (a header) the channel it is said in (default: #test)
 *   [private] <nick> text      this line is said to the bot privately ([#other] for another channel)
 *   ; comment                  blank lines are ignored too
 *
 * A transcript is a channel unless it says otherwise, and addressing is decided exactly as in a
 * real channel (src/transports/address.ts): `!vm list` and `virtbot: vm list` are commands,
 * `vm list` is chatter. In a private conversation every line is for the bot.
 *
 * `$CODE` in a said line stands for the last confirmation code the bot gave; `$CODE[nick]` for
 * the last one it gave nick, `$CODE#N` for the Nth one.
 * Each line is processed to completion before the next: no sleeps, no races.
 */
import type { ChatEvent, InboundMessage, Place, Reply } from '../core/types.js';
import type { Handler } from '../pipeline/pipeline.js';
import { address, replyPrefix } from './address.js';

/** Where a transcript's lines are said. */
export interface TranscriptPlace {
  channel: string;
  private: boolean;
}

export type TranscriptStep =
  | {
      kind: 'say';
      line: number;
      nick: string;
      text: string;
      action: boolean;
      time?: string;
      /** Said somewhere else than the transcript's place (`[private] <bob> …`, `[#ops] <bob> …`). */
      place?: TranscriptPlace;
    }
  | { kind: 'expect'; line: number; negative: boolean; pattern: string | RegExp };

export class TranscriptSyntaxError extends Error {}

const SAY = /^(?:(\d{1,2}):(\d{2}):(\d{2})\s+)?<([^>\s]+)>\s?(.*)$/;
const ACTION = /^(?:(\d{1,2}):(\d{2}):(\d{2})\s+)?\*\s+(\S+)\s?(.*)$/;
/** `[private] ` or `[#ops] ` before a said line: where it is said. */
const LINE_PLACE = /^\[(private|[#&+!][^\]\s]+)\]\s+/i;

const PLACE_HEADER = /^;\s*place:\s*(\S+)\s*$/i;

/** The place a transcript declares in a `; place:` header, or a channel named #test. */
export function transcriptPlace(text: string): TranscriptPlace {
  for (const raw of text.split(/\r?\n/)) {
    const header = PLACE_HEADER.exec(raw.trim());
    if (header) return placeNamed(header[1]!);
  }
  return { channel: '#test', private: false };
}

function placeNamed(where: string): TranscriptPlace {
  return where.toLowerCase() === 'private'
    ? { channel: '', private: true }
    : { channel: where, private: false };
}

export function parseTranscript(text: string, file = '<transcript>'): TranscriptStep[] {
  const steps: TranscriptStep[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trimEnd();
    if (content.trim() === '' || content.trimStart().startsWith(';')) return;
    const expectation = /^(>>>|!!!)\s?(.*)$/.exec(content);
    if (expectation) {
      steps.push({
        kind: 'expect',
        line,
        negative: expectation[1] === '!!!',
        pattern: readPattern(expectation[2]!),
      });
      return;
    }
    const placed = LINE_PLACE.exec(content);
    const rest = placed ? content.slice(placed[0].length) : content;
    const spoken = SAY.exec(rest);
    const said = spoken ?? ACTION.exec(rest);
    if (said) {
      const step: TranscriptStep = {
        kind: 'say',
        line,
        nick: said[4]!,
        text: said[5]!,
        action: spoken === null,
      };
      if (placed) step.place = placeNamed(placed[1]!);
      if (said[1] !== undefined) step.time = `${said[1].padStart(2, '0')}:${said[2]}:${said[3]}`;
      steps.push(step);
      return;
    }
    throw new TranscriptSyntaxError(`${file}:${line}: cannot read this line: ${content.slice(0, 80)}`);
  });
  return steps;
}

function readPattern(text: string): string | RegExp {
  const regex = /^\/(.*)\/([imsu]*)$/.exec(text);
  return regex ? new RegExp(regex[1]!, regex[2]) : text;
}

/**
 * `$CODE` is the last confirmation code the bot gave, `$CODE[alice]` the last one it gave alice,
 * `$CODE#2` the second one it gave. A code not given (yet) stays as written, so the line fails visibly.
 */
export function substituteCodes(text: string, codes: readonly { nick: string; code: string }[]): string {
  return text.replace(/\$CODE(?:\[([^\]\s]+)\]|#(\d+))?/g, (whole, nick?: string, nth?: string) => {
    if (nick !== undefined) return codes.filter((c) => c.nick === nick).at(-1)?.code ?? whole;
    if (nth !== undefined) return codes[Number(nth) - 1]?.code ?? whole;
    return codes.at(-1)?.code ?? whole;
  });
}

/** A reply as the lines a person reads: its text, then its detail lines. */
export function replyLines(reply: Reply): string[] {
  return [...reply.text.split('\n'), ...(reply.lines ?? [])];
}

function matches(line: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line);
}

export interface TranscriptOptions {
  handler: Handler;
  /** Where the lines are said (see `transcriptPlace`); default a channel named #test. */
  place?: TranscriptPlace;
  botNick: string;
  prefix: string;
  /** The day the transcript's HH:MM:SS clock runs on. */
  day?: Date;
  /** Told what the bot said in a channel, as a transport tells it (meeting logs). */
  observe?: (event: ChatEvent) => void;
}

export interface TranscriptFailure {
  line: number;
  message: string;
}

export interface TranscriptResult {
  steps: number;
  failures: TranscriptFailure[];
  /** Every bot line, in order, with the transcript line that caused it. */
  output: { cause: number; text: string }[];
}

export async function runTranscript(
  steps: TranscriptStep[],
  options: TranscriptOptions,
): Promise<TranscriptResult> {
  const output: { cause: number; text: string }[] = [];
  const failures: TranscriptFailure[] = [];
  let cursor = 0;
  let lastReplies: string[] = [];
  let lastSaid = 0;
  const codes: { nick: string; code: string }[] = [];
  let clock: Date | undefined;
  const day = options.day ?? new Date();
  const home = options.place ?? { channel: '#test', private: false };

  for (const step of steps) {
    if (step.kind === 'say') {
      if (step.time) clock = atTime(day, step.time);
      const text = substituteCodes(step.text, codes);
      const where = step.place ?? home;
      const conversation = { direct: where.private, action: step.action };
      const rules = { prefix: options.prefix, names: [options.botNick] };
      const said = address(text, conversation, rules);
      const place: Place = {
        transport: 'transcript',
        network: '',
        channel: where.private ? step.nick : where.channel,
        private: where.private,
      };
      const msg: InboundMessage = {
        place,
        sender: { nick: step.nick, local: true },
        text: said.text,
        time: clock ?? new Date(),
        addressed: said.addressed,
        replyPrefix: replyPrefix(conversation, rules),
        ...(said.text !== text ? { said: text } : {}),
      };
      if (step.action) msg.action = true;
      const replies: Reply[] = await options.handler(msg);
      lastReplies = replies.flatMap(replyLines);
      if (!place.private && options.observe) {
        for (const reply of replies.filter((r) => !r.private)) {
          for (const line of replyLines(reply))
            options.observe({ type: 'sent', place, text: line, time: msg.time });
        }
      }
      lastSaid = step.line;
      for (const reply of replies)
        if (reply.confirmCode) codes.push({ nick: step.nick, code: reply.confirmCode });
      for (const text of lastReplies) output.push({ cause: step.line, text });
      continue;
    }
    if (step.negative) {
      const offending = lastReplies.find((line) => matches(line, step.pattern));
      if (offending !== undefined) {
        failures.push({
          line: step.line,
          message: `expected no reply to line ${lastSaid} ${describe(step.pattern)}, but got:\n    ${offending}`,
        });
      }
      continue;
    }
    const found = output.findIndex((entry, i) => i >= cursor && matches(entry.text, step.pattern));
    if (found < 0) {
      failures.push({
        line: step.line,
        message: `expected a reply ${describe(step.pattern)}\n${context(output, cursor)}`,
      });
      break; // later expectations depend on this one; stop this transcript here
    }
    cursor = found + 1;
  }
  return { steps: steps.length, failures, output };
}

/** The last bot lines around the point of failure, with the last match marked. */
function context(output: { cause: number; text: string }[], cursor: number): string {
  const from = Math.max(0, cursor - 3);
  const shown = output.slice(from).slice(-12);
  if (shown.length === 0) return '    (the bot has said nothing yet)';
  const lines = shown.map((o, i) => `    ${from + i < cursor ? ' ' : '+'} ${o.cause}| ${o.text}`);
  return `  bot lines (+ = not yet matched; the number is the transcript line that caused it):\n${lines.join('\n')}`;
}

function describe(pattern: string | RegExp): string {
  return typeof pattern === 'string' ? `containing '${pattern}'` : `matching ${pattern}`;
}

function atTime(day: Date, time: string): Date {
  const [h, m, s] = time.split(':').map(Number);
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, m, s));
}
