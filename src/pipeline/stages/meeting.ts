import type { Reply } from '../../core/types.js';
import type { MeetingService } from '../../meeting/service.js';
import type { Utterance } from '../invocation.js';

/**
 * Every channel line goes to the meetings engine first: it logs them and handles `#topic` & co.
 * `handled` means the line was a meeting command and is not an operation.
 */
export async function meeting(
  utterance: Utterance,
  meetings: MeetingService | undefined,
): Promise<{ handled: boolean; replies: Reply[] }> {
  if (!meetings || utterance.msg.place.private) return { handled: false, replies: [] };
  return meetings.observe(utterance.msg, utterance.identity);
}
