import { parseArgs, UsageError } from '../../command/parse-args.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude } from '../turn.js';
import type { ParsedTurn } from './parse.js';

/** Binds and type-checks the arguments; nothing that fails here reaches a backend. */
export function validate(deps: PipelineDeps): Middleware<ParsedTurn> {
  return async (turn, next) => {
    const spec = turn.spec!;
    try {
      turn.args = parseArgs(spec, turn.tokens!, { hostNames: deps.hosts.names(), now: deps.now });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      conclude(turn, 'invalid', error.message);
      return;
    }
    const vm = spec.target?.vm ? turn.args[spec.target.vm] : undefined;
    const host = spec.target?.host ? turn.args[spec.target.host] : undefined;
    if (typeof vm === 'string') turn.vm = vm;
    if (typeof host === 'string') turn.host = host;
    else if (spec.target?.host) turn.host = deps.hosts.defaultHost();
    await next();
  };
}
