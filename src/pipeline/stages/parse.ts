import { TokenizeError, tokenize } from '../../grammar/tokenize.js';
import { type Parsed, stop, type Utterance } from '../invocation.js';

/** The longest line read at all: longer ones are refused before any parsing. */
export const DEFAULT_MAX_LINE_BYTES = 4096;

/** Splits a typed line into tokens (structured commands have none to split). */
export function parse(utterance: Utterance, maxLineBytes: number): Parsed {
  if (utterance.msg.command) return utterance;
  const bytes = Buffer.byteLength(utterance.line);
  if (bytes > maxLineBytes) {
    throw stop('invalid', `line too long: ${bytes} bytes, at most ${maxLineBytes}; nothing was read`);
  }
  try {
    return { ...utterance, tokens: tokenize(utterance.line) };
  } catch (error) {
    if (!(error instanceof TokenizeError)) throw error;
    throw stop('invalid', `cannot read the command: ${error.message}`);
  }
}
