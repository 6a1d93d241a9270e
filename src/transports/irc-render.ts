/**
 * The IRC renderer: one unit of replies as IRC lines, within the command's budget (budget.ts),
 * every line plain (sanitize.ts: no control characters, invisible ones shown) and split to fit
 * the 512-byte line the server relays (never inside a UTF-8 sequence). The transport queues
 * what this returns; nothing else turns reply text into IRC lines.
 */
import type { Reply } from '../core/types.js';
import { type BudgetLimits, budget } from './budget.js';
import { ircLine, plainLines } from './sanitize.js';
import { splitLine } from './text.js';

export interface IrcRenderOptions {
  /** Said in a private message: everything goes there. */
  direct: boolean;
  /** The requester's nick (the "sent to you privately" note names it). */
  nick: string;
  limits: BudgetLimits;
  /** Bytes of text a line may carry (see IrcTransport.maxTextBytes). */
  width: number;
}

/** Reply text as IRC lines: plain, split at `width` bytes. */
export function ircLines(text: string, width: number): string[] {
  return plainLines(text).flatMap((line) => splitLine(ircLine(line), width));
}

/** One unit: `here` for the conversation, `privately` for the requester. */
export function renderIrc(
  replies: readonly Reply[],
  options: IrcRenderOptions,
): { here: string[]; privately: string[] } {
  const out = budget(replies, {
    direct: options.direct,
    limits: options.limits,
    lines: (text) => ircLines(text, options.width),
    movedNote: (n) => `${options.nick}: (${n} more line${n === 1 ? '' : 's'} sent to you privately)`,
  });
  return { here: out.here, privately: out.privately };
}
