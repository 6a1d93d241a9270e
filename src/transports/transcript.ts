/**
 * Transcript tests: a chat log with expectations, run through the real pipeline with no chat
 * server. The format (kept exactly, so transcripts written elsewhere run unchanged):
 *
 *   [HH:MM:SS ]<nick> text     nick says text in the channel (the time sets the clock)
 *   [HH:MM:SS ]* nick text     an action (/me) line
 *   >>> text | >>> /regex/     a bot line after the last matched one contains text / matches
 *   !!! text | !!! /regex/     none of the replies to the most recent message contains / matches
 *   ; comment                  blank lines are ignored too
 *
 * `$CODE` in a said line stands for the last confirmation code the bot gave.
 * Each line is processed to completion before the next: no sleeps, no races.
 */
import type { InboundMessage, Reply } from '../core/types.js';
import type { Handler } from '../pipeline/pipeline.js';

export type TranscriptStep =
  | { kind: 'say'; line: number; nick: string; text: string; action: boolean; time?: string }
  | { kind: 'expect'; line: number; negative: boolean; pattern: string | RegExp };

export class TranscriptSyntaxError extends Error {}

const SAY = /^(?:(\d{1,2}):(\d{2}):(\d{2})\s+)?<([^>\s]+)>\s?(.*)$/;
const ACTION = /^(?:(\d{1,2}):(\d{2}):(\d{2})\s+)?\*\s+(\S+)\s?(.*)$/;

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
    const spoken = SAY.exec(content);
    const said = spoken ?? ACTION.exec(content);
    if (said) {
      const step: TranscriptStep = {
        kind: 'say',
        line,
        nick: said[4]!,
        text: said[5]!,
        action: spoken === null,
      };
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

function matches(line: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line);
}

export interface TranscriptOptions {
  handler: Handler;
  channel?: string;
  botNick: string;
  prefix: string;
  /** First words that make a line a command without the prefix (the command groups). */
  commandWords: ReadonlySet<string>;
  /** The day the transcript's HH:MM:SS clock runs on. */
  day?: Date;
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

/** Decides whether a channel line is addressed to the bot and strips the address. */
export function addressing(
  text: string,
  options: Pick<TranscriptOptions, 'botNick' | 'prefix' | 'commandWords'>,
): { addressed: boolean; text: string } {
  if (options.prefix !== '' && text.startsWith(options.prefix) && text.length > options.prefix.length) {
    return { addressed: true, text: text.slice(options.prefix.length).trimStart() };
  }
  const mention = new RegExp(`^@?${options.botNick.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[:,]\\s*`, 'i');
  if (mention.test(text)) return { addressed: true, text: text.replace(mention, '') };
  const first = text.split(/\s+/, 1)[0]!.toLowerCase();
  return { addressed: options.commandWords.has(first), text };
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
  let lastCode: string | undefined;
  let clock: Date | undefined;
  const day = options.day ?? new Date();

  for (const step of steps) {
    if (step.kind === 'say') {
      if (step.time) clock = atTime(day, step.time);
      const text = step.text.replace(/\$CODE\b/g, lastCode ?? '$CODE');
      const { addressed, text: commandText } = step.action
        ? { addressed: false, text }
        : addressing(text, options);
      const msg: InboundMessage = {
        place: { transport: 'transcript', network: '', channel: options.channel ?? '#test', private: false },
        sender: { nick: step.nick, local: true },
        text: commandText,
        time: clock ?? new Date(),
        addressed,
      };
      if (step.action) msg.action = true;
      const replies: Reply[] = await options.handler(msg);
      lastReplies = replies.flatMap((r) => [...r.text.split('\n'), ...(r.lines ?? [])]);
      lastSaid = step.line;
      for (const reply of replies) if (reply.confirmCode) lastCode = reply.confirmCode;
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
