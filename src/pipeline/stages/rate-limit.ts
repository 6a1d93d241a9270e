import { identityKey } from '../../auth/confirmations.js';
import { RateLimiter } from '../../auth/rate-limit.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude, type Turn } from '../turn.js';

/**
 * Command rate limits from the config, per identity and per place (channel or private
 * conversation). Exceeding one ends the turn as 'denied' with the time to wait; nothing is parsed
 * or run. Identities holding an exempt role are neither limited nor counted.
 */
export function rateLimit(deps: PipelineDeps): Middleware<Turn> {
  const { perIdentity, perChannel, exemptRoles } = deps.config.rateLimits;
  const clock = () => deps.now().getTime();
  const people = perIdentity ? new RateLimiter(perIdentity, clock) : undefined;
  const places = perChannel ? new RateLimiter(perChannel, clock) : undefined;
  return async (turn, next) => {
    if ((!people && !places) || turn.identity.roles.some((role) => exemptRoles.includes(role))) {
      await next();
      return;
    }
    const who = identityKey(turn.identity, turn.placeKey, turn.msg.sender);
    const mine = people?.check(who);
    if (mine && !mine.ok) {
      const { count, seconds } = people!.limit;
      conclude(
        turn,
        'denied',
        `rate limit: at most ${count} commands per ${seconds} s per person — try again in ${mine.retryAfterSeconds} s`,
      );
      return;
    }
    const here = places?.check(turn.placeKey);
    if (here && !here.ok) {
      const { count, seconds } = places!.limit;
      conclude(
        turn,
        'denied',
        `rate limit: at most ${count} commands per ${seconds} s in this ${turn.msg.place.private ? 'conversation' : 'channel'} — try again in ${here.retryAfterSeconds} s`,
      );
      return;
    }
    people?.spend(who);
    places?.spend(turn.placeKey);
    await next();
  };
}
