import { resolveIdentity } from '../../auth/identity.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import type { Turn } from '../turn.js';

/** Resolves who is speaking from the transport's proof (never from the nick alone). */
export function identify(deps: PipelineDeps): Middleware<Turn> {
  return async (turn, next) => {
    turn.identity = resolveIdentity(deps.config, turn.msg.place, turn.msg.sender);
    await next();
  };
}
