import { ResolveError } from '../../command/registry.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude } from '../turn.js';
import type { ParsedTurn } from './parse.js';

/** Finds the declared command by longest match of the leading words; unknown ones get a "did you mean". */
export function resolve(deps: PipelineDeps): Middleware<ParsedTurn> {
  return async (turn, next) => {
    try {
      const { spec, consumed } = deps.commands.resolve(turn.tokens!);
      turn.spec = spec;
      turn.tokens = turn.tokens!.slice(consumed);
    } catch (error) {
      if (!(error instanceof ResolveError)) throw error;
      conclude(turn, 'invalid', error.message);
      return;
    }
    await next();
  };
}
