/**
 * The transcript runner: says each line of a transcript (./syntax.ts) to the bot through the real
 * pipeline, as the modelled transport would deliver it — addressed exactly as in a real channel
 * (src/transports/address.ts), with the sender's proof (./people.ts) — and renders the replies as
 * that transport shows them (./render/), then checks the expectations against what people see.
 *
 * Each line is processed to completion before the next (asynchronous work runs inline): no
 * sleeps, no races.
 *
 * Events from libvirt (`~~~ event HOST VM STATE`) go to the `inject` hook, which the bot side
 * implements: it hands the event to the bot and resolves with what the bot announced.
 */

import type { ChatEvent, InboundMessage, Place, Reply } from '../core/types.js';
import type { Handler } from '../pipeline/pipeline.js';
import { address, replyPrefix } from '../transports/address.js';
import { boundedTest, RegexTimeoutError } from './bounded-regex.js';
import { People } from './people.js';
import { buttonLabel } from './render/discord.js';
import { type RenderOptions, rendererFor, type SeenLine, type TransportName } from './render/index.js';
import {
  type LifecycleState,
  readPattern,
  splitExpectation,
  type TranscriptPlace,
  type TranscriptStep,
} from './syntax.js';

export { replyLines } from '../core/reply.js';
export {
  type LifecycleState,
  type Person,
  parseTranscript,
  readTranscript,
  type Transcript,
  type TranscriptHeader,
  type TranscriptPlace,
  type TranscriptStep,
  TranscriptSyntaxError,
  transcriptPlace,
} from './syntax.js';

/** An event a transcript injects (`~~~ event lab web01 stopped why…`). */
export interface InjectedEvent {
  type: 'lifecycle';
  host: string;
  vm: string;
  state: LifecycleState;
  detail?: string;
  time: Date;
}

/** What the bot posted on its own initiative, where (as `Bot`'s announcer receives it). */
export interface Announcement {
  place: Place;
  replies: Reply[];
}

/**
 * The hook for `~~~ event …`: give the event to the bot and resolve, once the bot has dealt with
 * it, with what it announced. Without one, an event line fails the transcript.
 */
export type InjectHook = (event: InjectedEvent) => Promise<Announcement[]>;

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
  /** The transport modelled: addressing, proofs and rendering. Default: plain lines ('transcript'). */
  transport?: TransportName;
  /** Who proves what (`; user` headers); default: everyone vouched for by nick. */
  people?: People;
  render?: RenderOptions;
  inject?: InjectHook;
  /**
   * `--update`: a literal `>>>` / `>>` that fails is rewritten from the bot line it most likely
   * meant (see `TranscriptResult.updates`) and the run goes on, instead of stopping there.
   */
  update?: boolean;
}

export interface TranscriptFailure {
  line: number;
  message: string;
}

/** A bot line, with the transcript line that caused it. */
export type BotLine = SeenLine & { cause: number };

export interface TranscriptResult {
  steps: number;
  failures: TranscriptFailure[];
  /** Every bot line, in order, with the transcript line that caused it. */
  output: BotLine[];
  /** With `update`: the new text of each rewritten expectation line. */
  updates: { line: number; text: string }[];
}

interface Given {
  nick: string;
  code: string;
}

/**
 * `$CODE` is the last confirmation code the bot gave, `$CODE[alice]` the last one it gave alice,
 * `$CODE#2` the second one it gave. A code not given (yet) stays as written, so the line fails visibly.
 */
export function substituteCodes(text: string, codes: readonly Given[]): string {
  return text.replace(/\$CODE(?:\[([^\]\s]+)\]|#(\d+))?/g, (whole, nick?: string, nth?: string) => {
    if (nick !== undefined)
      return codes.filter((c) => c.nick.toLowerCase() === nick.toLowerCase()).at(-1)?.code ?? whole;
    if (nth !== undefined) return codes[Number(nth) - 1]?.code ?? whole;
    return codes.at(-1)?.code ?? whole;
  });
}

/** The codes in a bot line written back as `$CODE` (the last one given) or `$CODE#N`. */
function codesToNames(text: string, codes: readonly Given[]): string {
  let out = text;
  codes.forEach(({ code }, i) => {
    const name = i === codes.length - 1 ? '$CODE' : `$CODE#${i + 1}`;
    out = out.split(code).join(name);
  });
  return out;
}

function matches(line: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? line.includes(pattern) : boundedTest(pattern, line);
}

/** A Discord button press: `<alice> [Confirm]`. */
const BUTTON = /^\[(Confirm|Cancel|Approve|Deny)\]$/i;

export async function runTranscript(
  steps: TranscriptStep[],
  options: TranscriptOptions,
): Promise<TranscriptResult> {
  const output: BotLine[] = [];
  const failures: TranscriptFailure[] = [];
  const updates: { line: number; text: string }[] = [];
  /** Bot lines before this index have been matched past. */
  let cursor = 0;
  /** Where the lines answering the last said line (or event) begin. */
  let lastStart = 0;
  let lastSaid = 0;
  const codes: Given[] = [];
  let clock: Date | undefined;
  const day = options.day ?? new Date();
  const home = options.place ?? { channel: '#test', private: false };
  const homeNetwork = home.network ?? '';
  const transport = options.transport ?? 'transcript';
  const people = options.people ?? new People([], transport);
  const render = rendererFor(transport, options.botNick, options.render);
  const rules = { prefix: options.prefix, names: [options.botNick] };

  const placeOf = (where: TranscriptPlace, nick: string): Place => ({
    transport,
    network: where.network ?? homeNetwork,
    channel: where.private ? nick : where.channel,
    private: where.private,
  });
  /** The lines answering one said line or event, each part rendered where it was posted. */
  const record = (cause: number, parts: { place: Place; seen: SeenLine[] }[], time: Date) => {
    lastStart = output.length;
    lastSaid = cause;
    for (const { place, seen } of parts) {
      for (const line of seen) output.push({ ...line, cause });
      if (place.private || !options.observe) continue;
      for (const line of seen) {
        if (line.to === undefined && line.where === place.channel && line.delivery === 'message')
          options.observe({ type: 'sent', place, text: line.text, time });
      }
    }
  };
  const sees = (line: SeenLine, nick: string | undefined) =>
    nick === undefined || line.to === undefined || line.to.toLowerCase() === nick.toLowerCase();
  const shownIn = (line: SeenLine, where: TranscriptPlace | undefined) =>
    where === undefined ||
    (line.network === (where.network ?? homeNetwork) &&
      (where.private ? line.where === 'private' : line.where.toLowerCase() === where.channel.toLowerCase()));

  for (const step of steps) {
    if (step.kind === 'say') {
      if (step.time) clock = atTime(day, step.time);
      const time = clock ?? new Date();
      let text = substituteCodes(step.text, codes);
      const where = step.place ?? home;
      const place = placeOf(where, step.nick);
      let interaction = false;
      let pressed: BotLine | undefined;
      let addressed: ReturnType<typeof address>;
      const button = transport === 'discord' ? BUTTON.exec(text) : null;
      if (button) {
        // A press of the newest such button this person sees, as the Discord transport gets it.
        const label = button[1]!.toLowerCase();
        const row = output.findLast(
          (l) => l.buttons?.actions.includes(label) && sees(l, step.nick) && shownIn(l, where),
        );
        if (!row?.buttons) {
          failures.push({
            line: step.line,
            message: `no [${buttonLabel(label)}] button for ${step.nick} here`,
          });
          break;
        }
        text = `${label} ${row.buttons.code}`;
        pressed = row;
        interaction = true;
        addressed = { addressed: true, text, via: 'direct' };
      } else if (transport === 'discord' && !step.action && /^\/[a-z]/i.test(text)) {
        // A slash command: for the bot wherever it is used, and answered as an interaction.
        interaction = true;
        addressed = { addressed: true, text: text.slice(1).trim(), via: 'direct' };
      } else {
        const direct = where.private || transport === 'console';
        addressed = address(text, { direct, action: step.action }, rules);
      }
      const msg: InboundMessage = {
        place,
        sender: people.sender(step.nick),
        text: addressed.text,
        time,
        addressed: addressed.addressed,
        // As the transports word prompts: IRC and transcripts with the prefix in a channel;
        // the console and Discord (buttons, slash commands) with none.
        replyPrefix:
          transport === 'discord' || transport === 'console'
            ? ''
            : replyPrefix({ direct: where.private }, rules),
        ...(addressed.text !== text && !interaction ? { said: text } : {}),
      };
      if (step.action) msg.action = true;
      const replies: Reply[] = await options.handler(msg);
      // Once pressed to effect, the transport takes the buttons off the message.
      if (pressed && replies.length > 0 && replies.every((r) => r.kind !== 'error')) delete pressed.buttons;
      for (const reply of replies)
        if (reply.confirmCode) codes.push({ nick: step.nick, code: reply.confirmCode });
      const seen = render({ replies, place, requester: step.nick, via: addressed.via, interaction });
      record(step.line, [{ place, seen }], time);
      continue;
    }
    if (step.kind === 'event') {
      if (!options.inject) {
        failures.push({
          line: step.line,
          message:
            'cannot inject events here: this runner has no inject hook (the bot has no event stream yet)',
        });
        break;
      }
      const time = clock ?? new Date();
      const event: InjectedEvent = {
        type: 'lifecycle',
        host: step.host,
        vm: step.vm,
        state: step.state,
        time,
      };
      if (step.detail !== undefined) event.detail = step.detail;
      const announcements = await options.inject(event);
      const parts = announcements.map((a) => ({
        place: a.place,
        seen: render({ replies: a.replies, place: a.place }),
      }));
      record(step.line, parts, time);
      continue;
    }
    const pattern = typeof step.pattern === 'string' ? substituteCodes(step.pattern, codes) : step.pattern;
    const counts = (line: SeenLine) => sees(line, step.to) && shownIn(line, step.place);
    let found: number;
    try {
      found = step.negative
        ? output.findIndex((line, i) => i >= lastStart && counts(line) && matches(line.text, pattern))
        : output.findIndex(
            (line, i) =>
              i >= (step.anchored ? Math.max(cursor, lastStart) : cursor) &&
              counts(line) &&
              matches(line.text, pattern),
          );
    } catch (error) {
      if (!(error instanceof RegexTimeoutError)) throw error;
      failures.push({ line: step.line, message: error.message });
      break; // a regex that runs away would do so again on every later line
    }
    if (step.negative) {
      const offending = found >= 0 ? output[found] : undefined;
      if (offending !== undefined) {
        failures.push({
          line: step.line,
          message: `expected no reply to line ${lastSaid} ${describe(pattern, step)}, but got:\n    ${describeLine(offending, home)}`,
        });
      }
      continue;
    }
    if (found >= 0) {
      cursor = found + 1;
      continue;
    }
    const what = step.anchored ? `a reply to line ${lastSaid}` : 'a reply';
    const failure = {
      line: step.line,
      message: `expected ${what} ${describe(pattern, step)}\n${context(output, cursor, home)}`,
    };
    if (options.update && typeof step.pattern === 'string') {
      const candidates = output
        .map((line, i) => ({ line, i }))
        .filter(({ line, i }) => i >= cursor && counts(line));
      const recent = candidates.filter(({ i }) => i >= lastStart);
      const pick = closest(step.pattern, step.anchored ? recent : recent.length > 0 ? recent : candidates);
      const rewritten = pick && rewrite(step, pick.line.text, codes);
      if (pick && rewritten) {
        updates.push({ line: step.line, text: rewritten });
        cursor = pick.i + 1;
        continue;
      }
      failure.message += pick
        ? '\n  (--update: the reply cannot be written as a literal; use a /regex/)'
        : '';
    }
    failures.push(failure);
    if (!options.update) break; // later expectations depend on this one; stop this transcript here
  }
  return { steps: steps.length, failures, output, updates };
}

/** Of the candidate lines, the one sharing the most words with the old text (the first on a tie). */
function closest<T extends { line: SeenLine }>(old: string, candidates: T[]): T | undefined {
  const words = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const mine = words(old);
  let best: T | undefined;
  let bestScore = -1;
  for (const candidate of candidates) {
    let score = 0;
    for (const word of words(candidate.line.text)) if (mine.has(word)) score++;
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The expectation line rewritten to expect `text` (its operator and targets kept, codes named),
 * or undefined when the text would not read back as that literal.
 */
function rewrite(
  step: TranscriptStep & { kind: 'expect' },
  text: string,
  codes: readonly Given[],
): string | undefined {
  const op = step.anchored ? '>>' : '>>>';
  const head = `${step.place ? `[${placeText(step.place)}] ` : ''}${step.to !== undefined ? `<${step.to}> ` : ''}`;
  const line = `${op} ${head}${codesToNames(text, codes)}`.trimEnd();
  const back = splitExpectation(line);
  if (!back || back.head !== head || typeof readPattern(back.pattern) !== 'string') return undefined;
  if (!text.includes(substituteCodes(back.pattern, codes))) return undefined;
  return line;
}

function placeText(place: TranscriptPlace): string {
  const where = place.private ? 'private' : place.channel;
  return place.network !== undefined ? `${place.network}/${where}` : where;
}

/**
 * A bot line as the failure output shows it, in the expectation syntax: `[#other] `, `[private] `
 * where it does not show in the transcript's own place, `<nick> ` when only nick sees it, and how
 * it was delivered when that is not a plain message.
 */
export function describeLine(line: SeenLine, home: TranscriptPlace): string {
  const homeWhere = home.private ? 'private' : home.channel;
  const elsewhere = line.where !== homeWhere || line.network !== (home.network ?? '');
  const where = line.where === 'private' ? 'private' : line.where;
  const place = elsewhere ? `[${line.network !== '' ? `${line.network}/` : ''}${where}] ` : '';
  const to = line.to !== undefined && !home.private ? `<${line.to}> ` : '';
  const how = line.delivery === 'message' || line.delivery === 'dm' ? '' : `  (${line.delivery})`;
  return `${place}${to}${line.text}${how}`;
}

/** The last bot lines around the point of failure, with the last match marked. */
function context(output: BotLine[], cursor: number, home: TranscriptPlace): string {
  const from = Math.max(0, cursor - 3);
  const shown = output.slice(from).slice(-12);
  if (shown.length === 0) return '    (the bot has said nothing yet)';
  const lines = shown.map(
    (o, i) => `    ${from + i < cursor ? ' ' : '+'} ${o.cause}| ${describeLine(o, home)}`,
  );
  return `  bot lines (+ = not yet matched; the number is the transcript line that caused it):\n${lines.join('\n')}`;
}

function describe(pattern: string | RegExp, step: { to?: string; place?: TranscriptPlace }): string {
  const what = typeof pattern === 'string' ? `containing '${pattern}'` : `matching ${pattern}`;
  const where = step.place ? ` in ${placeText(step.place)}` : '';
  return `${what}${step.to !== undefined ? ` seen by ${step.to}` : ''}${where}`;
}

function atTime(day: Date, time: string): Date {
  const [h, m, s] = time.split(':').map(Number);
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, m, s));
}
