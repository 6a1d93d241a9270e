import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import type { Turn } from '../turn.js';

/**
 * Every channel line goes to the meetings engine first (it logs them and handles `#topic` & co).
 * Lines that are neither meeting commands nor addressed to the bot end here: they are chatter.
 */
export function meeting(deps: PipelineDeps): Middleware<Turn> {
  return async (turn, next) => {
    if (deps.meetings && !turn.msg.place.private) {
      const { handled, replies } = await deps.meetings.observe(turn.msg, turn.identity);
      turn.replies.push(...replies);
      if (handled) {
        turn.notAnOperation = true;
        return;
      }
    }
    if (!turn.msg.addressed) {
      turn.notAnOperation = true;
      return;
    }
    await next();
  };
}
