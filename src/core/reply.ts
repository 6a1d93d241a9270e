import type { Reply } from './types.js';

/** A reply as the lines a person reads: its text, then its detail lines. */
export function replyLines(reply: Reply): string[] {
  return [...reply.text.split('\n'), ...(reply.lines ?? [])];
}
