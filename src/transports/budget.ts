/**
 * One output budget per command. All the replies to one message are one unit, whatever their
 * lines: a short part goes to the conversation (at most `channelLines` lines, summaries first),
 * the rest to the requester privately (at most `privateLines` lines), and the conversation is
 * told "(N more lines sent to you privately)". In a private conversation everything goes there,
 * within the private budget. The transports decide what a line is (IRC splits at 512 bytes) and
 * how text is made safe (sanitize.ts): they pass `lines`.
 */
import type { Reply } from '../core/types.js';

export interface BudgetLimits {
  /** Lines a unit may put in a channel, the "N more lines" note included. */
  channelLines: number;
  /** Lines a unit may send privately, the "N more lines not shown" note included. */
  privateLines: number;
}

export interface BudgetOptions {
  /** The conversation is private already (a PM, a DM, the console). */
  direct: boolean;
  limits: BudgetLimits;
  /** A reply's text (or one of its detail lines) as the transport's lines: sanitized and split. */
  lines: (text: string) => string[];
  /** The channel's last line when lines were moved: "(N more lines sent to you privately)". */
  movedNote: (count: number) => string;
  /** The private part's last line when lines were left out. */
  droppedNote?: (count: number) => string;
}

export interface Budgeted {
  /** Lines for the conversation the command was said in. */
  here: string[];
  /** Lines for the requester alone. */
  privately: string[];
  /** Lines moved from the conversation to the requester. */
  moved: number;
  /** Lines not shown at all (beyond the private budget). */
  dropped: number;
}

interface Line {
  text: string;
  summary: boolean;
}

function linesOf(reply: Reply, lines: (text: string) => string[]): Line[] {
  return [
    ...lines(reply.text).map((text) => ({ text, summary: true })),
    ...(reply.lines ?? []).flatMap((detail) => lines(detail).map((text) => ({ text, summary: false }))),
  ];
}

const defaultDropped = (count: number) =>
  `… ${count} more line${count === 1 ? '' : 's'} not shown (too long for chat: narrow the request down)`;

function cap(
  lines: string[],
  limit: number,
  note: (count: number) => string,
): { kept: string[]; dropped: number } {
  if (lines.length <= limit) return { kept: lines, dropped: 0 };
  const keep = Math.max(0, limit - 1);
  const dropped = lines.length - keep;
  return { kept: [...lines.slice(0, keep), note(dropped)], dropped };
}

/** Splits one unit of replies between the conversation and the requester. */
export function budget(replies: readonly Reply[], options: BudgetOptions): Budgeted {
  const dropNote = options.droppedNote ?? defaultDropped;
  const limits = {
    channelLines: Math.max(1, options.limits.channelLines),
    privateLines: Math.max(1, options.limits.privateLines),
  };
  if (options.direct) {
    const all = replies.flatMap((r) => linesOf(r, options.lines)).map((l) => l.text);
    const { kept, dropped } = cap(all, limits.privateLines, dropNote);
    return { here: kept, privately: [], moved: 0, dropped };
  }
  const publicLines = replies.filter((r) => !r.private).flatMap((r) => linesOf(r, options.lines));
  const privateLines = replies.filter((r) => r.private).flatMap((r) => linesOf(r, options.lines));
  let here: string[];
  let moved: string[] = [];
  if (publicLines.length <= limits.channelLines) {
    here = publicLines.map((l) => l.text);
  } else {
    // Summaries first, in order, as many as fit beside the note; everything else goes privately.
    const room = limits.channelLines - 1;
    const shown = new Set<Line>();
    for (const line of publicLines) {
      if (shown.size >= room) break;
      if (line.summary) shown.add(line);
    }
    moved = publicLines.filter((l) => !shown.has(l)).map((l) => l.text);
    here = [...publicLines.filter((l) => shown.has(l)).map((l) => l.text), options.movedNote(moved.length)];
  }
  const { kept, dropped } = cap(
    [...privateLines.map((l) => l.text), ...moved],
    limits.privateLines,
    dropNote,
  );
  return { here, privately: kept, moved: moved.length, dropped };
}
