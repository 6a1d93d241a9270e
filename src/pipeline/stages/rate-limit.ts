import { RateLimiter } from '../../auth/rate-limit.js';
import type { Config } from '../../config/schema.js';
import { stop, type Utterance } from '../invocation.js';

/**
 * Command rate limits from the config, per identity and per place (channel or private
 * conversation). Exceeding one ends the turn as 'denied' with the time to wait; nothing is parsed
 * or run. Identities holding an exempt role are neither limited nor counted.
 */
export function rateLimiter(config: Config['rateLimits'], now: () => Date): (utterance: Utterance) => void {
  const { perIdentity, perChannel, exemptRoles } = config;
  const clock = () => now().getTime();
  const people = perIdentity ? new RateLimiter(perIdentity, clock) : undefined;
  const places = perChannel ? new RateLimiter(perChannel, clock) : undefined;
  return (utterance) => {
    if ((!people && !places) || utterance.identity.roles.some((role) => exemptRoles.includes(role))) return;
    const mine = people?.check(utterance.requester);
    if (mine && !mine.ok) {
      const { count, seconds } = people!.limit;
      throw stop(
        'denied',
        `rate limit: at most ${count} commands per ${seconds} s per person — try again in ${mine.retryAfterSeconds} s`,
      );
    }
    const here = places?.check(utterance.placeKey);
    if (here && !here.ok) {
      const { count, seconds } = places!.limit;
      throw stop(
        'denied',
        `rate limit: at most ${count} commands per ${seconds} s in this ${utterance.msg.place.private ? 'conversation' : 'channel'} — try again in ${here.retryAfterSeconds} s`,
      );
    }
    people?.spend(utterance.requester);
    places?.spend(utterance.placeKey);
  };
}
