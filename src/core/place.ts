import type { Place } from './types.js';

/** A stable key for a conversation: meetings, rate limits and confirmations are per place. */
export function placeKey(place: Place): string {
  return `${place.transport}:${place.network}:${place.channel}`;
}
