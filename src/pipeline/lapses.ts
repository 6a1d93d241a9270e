/** Records every pending invocation whose code lapsed unredeemed. Safe to call from a timer. */

import { pendingApprovals } from '../auth/confirmations.js';
import type { AuditRecord } from '../core/types.js';
import type { PipelineDeps } from './deps.js';

let lapseSequence = 0;

export async function recordLapses(
  deps: Pick<PipelineDeps, 'confirmations' | 'audit' | 'now' | 'logger'>,
): Promise<void> {
  const lapsed = deps.confirmations.sweep();
  if (lapsed.length === 0) return;
  const now = deps.now();
  const entries = lapsed.map((pending): AuditRecord => {
    const entry: AuditRecord = {
      id: `${now.getTime().toString(36)}-${process.pid.toString(36)}-l${(lapseSequence++).toString(36)}`,
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
