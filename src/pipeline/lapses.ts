/** Records every pending invocation whose code lapsed unredeemed. Safe to call from a timer. */

import type { SingleRecord } from '../audit/store.js';
import { pendingApprovals } from '../auth/confirmations.js';
import type { PipelineDeps } from './deps.js';

export async function recordLapses(
  deps: Pick<PipelineDeps, 'confirmations' | 'audit' | 'now' | 'logger'>,
): Promise<void> {
  const lapsed = await deps.confirmations.sweep();
  if (lapsed.length === 0) return;
  const now = deps.now();
  const entries = lapsed.map((pending): SingleRecord => {
    const entry: SingleRecord = {
      time: now.toISOString(),
      transport: pending.place.transport,
      network: pending.place.network,
      channel: pending.place.channel,
      user: pending.who.user,
      nick: pending.who.nick,
      proof: pending.who.proof,
      command: pending.line,
      path: pending.command.path.join('.'),
      outcome: 'lapsed',
      detail: `code ${pending.code} lapsed at ${new Date(pending.expiresAt).toISOString()} without ${
        pendingApprovals(pending).length > 0 ? 'approval' : 'confirmation'
      }: nothing was done`,
    };
    if (pending.place.private) entry.private = true;
    if (pending.host !== undefined) entry.host = pending.host;
    if (pending.vm !== undefined) entry.vm = pending.vm;
    return entry;
  });
  try {
    await Promise.all(entries.map((entry) => deps.audit.record(entry)));
  } catch (error) {
    deps.logger.error({ err: error }, 'could not record lapsed confirmations');
    throw error;
  }
}
