import { type Token, TokenizeError, tokenize } from '../../grammar/tokenize.js';
import type { Middleware } from '../composer.js';
import { conclude, type Turn } from '../turn.js';

export type ParsedTurn = Turn & { tokens?: Token[] };

/** Splits the command line into tokens; a quoting error ends the turn as invalid. */
export function parse(): Middleware<ParsedTurn> {
  return async (turn, next) => {
    try {
      turn.tokens = tokenize(turn.line);
    } catch (error) {
      if (!(error instanceof TokenizeError)) throw error;
      conclude(turn, 'invalid', `cannot read the command: ${error.message}`);
      return;
    }
    if (turn.tokens.length === 0) {
      turn.notAnOperation = true;
      return;
    }
    await next();
  };
}
