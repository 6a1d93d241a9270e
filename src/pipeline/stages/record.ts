import { renderInfoLine, renderItem } from '../../audit/render.js';
import type { AuditRecord } from '../../core/types.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude, type Turn } from '../turn.js';

let sequence = 0;

/**
 * Wraps the rest of the chain: whatever happens — ok, invalid, denied, failed, or a crash —
 * the outcome is written to the audit log (durably) before any reply leaves, and added to the
 * meeting running in that place. A crash inside fails closed with a one-line error.
 */
export function record(deps: PipelineDeps): Middleware<Turn> {
  return async (turn, next) => {
    try {
      await next();
    } catch (error) {
      const id = `E${Date.now().toString(36)}`;
      deps.logger.error({ err: error, errorId: id, line: turn.line }, 'command crashed');
      turn.replies.length = 0;
      conclude(turn, 'failed', `internal error (${id}); nothing was changed by virtbot after the error`);
    }
    if (turn.notAnOperation) return;
    if (!turn.outcome) conclude(turn, 'failed', 'the command ended without an outcome');
    const entry = toRecord(turn);
    try {
      await deps.audit.append(entry);
    } catch (error) {
      deps.logger.error({ err: error }, 'audit log write failed');
      turn.replies.length = 0;
      conclude(
        turn,
        'failed',
        'the audit log cannot be written: the outcome is not acknowledged, check the host',
      );
      return;
    }
    deps.logger.info({ recordId: entry.id, outcome: entry.outcome }, renderInfoLine(entry));
    if (deps.meetings) {
      await deps.meetings.recordOperation(turn.placeKey, entry, renderItem(entry)).catch((error: unknown) => {
        deps.logger.warn({ err: error }, 'meeting item for an operation could not be added');
      });
    }
  };
}

function toRecord(turn: Turn): AuditRecord {
  const { place, sender, time } = turn.msg;
  const entry: AuditRecord = {
    id: `${time.getTime().toString(36)}-${process.pid.toString(36)}-${(sequence++).toString(36)}`,
    time: time.toISOString(),
    transport: place.transport,
    network: place.network,
    channel: place.channel,
    user: turn.identity.user,
    nick: sender.nick,
    proof: turn.identity.proof,
    command: turn.line,
    outcome: turn.outcome!,
    detail: turn.detail ?? '',
  };
  if (turn.spec) entry.path = turn.spec.path.join('.');
  if (turn.host !== undefined) entry.host = turn.host;
  if (turn.vm !== undefined) entry.vm = turn.vm;
  return entry;
}
