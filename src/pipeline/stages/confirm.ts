import type { Decision } from '../../auth/authorizer.js';
import { identityKey, type PendingAction } from '../../auth/confirmations.js';
import type { AuditRecord } from '../../core/types.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude, type Turn } from '../turn.js';
import { authorizationRequest } from './authorize.js';

/**
 * Destructive commands, and commands a rule puts under approval, stop here with a one-time code.
 *
 * - `approve CODE`: a different, identified person holding one of the approver roles, in the same
 *   place, approves (only for codes that need it). Recorded as 'approved'.
 * - `confirm CODE`: the same identity, in the same place, before it lapses (and after the approval
 *   when one is needed) brings the pending command back — re-authorized, since roles may have
 *   changed meanwhile — and lets it run. `cancel CODE` drops it.
 *
 * Codes nobody redeemed in time are recorded as 'lapsed' by the sweep at the start of every turn
 * through this stage (and by `recordLapses`, which a timer may call).
 */
export function confirm(deps: PipelineDeps): Middleware<Turn> {
  return async (turn, next) => {
    await recordLapses(deps);
    const path = turn.spec!.path.join(' ');
    const key = identityKey(turn.identity, turn.placeKey, turn.msg.sender);
    if (path === 'approve') {
      approve(deps, turn, key);
      return;
    }
    if (path === 'confirm' || path === 'cancel') {
      const code = String(turn.args!['code']);
      const redemption =
        path === 'cancel'
          ? deps.confirmations.cancel(code, key, turn.placeKey)
          : deps.confirmations.redeem(code, key, turn.placeKey);
      if (!redemption.ok) {
        if (redemption.action) adoptTarget(turn, redemption.action);
        conclude(turn, redemption.lapsed ? 'lapsed' : 'invalid', redemption.reason);
        return;
      }
      const action = redemption.action;
      adoptTarget(turn, action);
      if (path === 'cancel') {
        conclude(turn, 'cancelled', `cancelled: ${action.line}`);
        return;
      }
      const decision = await reauthorize(deps, turn, action);
      if (!decision.allowed) {
        conclude(turn, 'denied', decision.reason, { text: `denied: ${decision.reason}` });
        return;
      }
      if (decision.approval && action.approval?.approvedBy === undefined) {
        const reason = `${action.line} now needs approval (${decision.approval.rule}): run it again`;
        conclude(turn, 'denied', reason, { text: `denied: ${reason}` });
        return;
      }
      // From here on this turn is the confirmed command; the record says it was confirmed (and by whom approved).
      const approvedBy = action.approval?.approvedBy;
      turn.spec = action.spec;
      turn.args = action.args;
      turn.line = `${action.line} (confirmed ${action.code}${approvedBy !== undefined ? `, approved by ${approvedBy}` : ''})`;
      turn.decision = decision;
      await next();
      return;
    }
    const approval = turn.decision?.approval;
    if (turn.spec!.destructive || approval) {
      const action = deps.confirmations.create({
        spec: turn.spec!,
        args: turn.args!,
        line: turn.line,
        requester: key,
        placeKey: turn.placeKey,
        who: { user: turn.identity.user, nick: turn.identity.nick, proof: turn.identity.proof },
        place: turn.msg.place,
        ...(approval ? { approval: { approvers: [...approval.approvers], rule: approval.rule } } : {}),
        ...(turn.host !== undefined ? { host: turn.host } : {}),
        ...(turn.vm !== undefined ? { vm: turn.vm } : {}),
      });
      const seconds = deps.confirmations.timeout;
      const text = approval
        ? `${path} needs approval (${approval.rule}): a holder of role ${approval.approvers.join(' or ')} must type 'approve ${action.code}' here within ${seconds} s, then you 'confirm ${action.code}' (or 'cancel ${action.code}')`
        : `${path} is destructive: type 'confirm ${action.code}' within ${seconds} s to go ahead, or 'cancel ${action.code}'`;
      conclude(turn, 'pending', text, { kind: 'confirm', confirmCode: action.code });
      return;
    }
    await next();
  };
}

function approve(deps: PipelineDeps, turn: Turn, key: string): void {
  const code = String(turn.args!['code']);
  const result = deps.confirmations.approve(
    code,
    { key, user: turn.identity.user, roles: turn.identity.roles },
    turn.placeKey,
  );
  if (result.action) adoptTarget(turn, result.action);
  if (!result.ok) {
    const outcome = result.lapsed ? 'lapsed' : result.action ? 'denied' : 'invalid';
    conclude(turn, outcome, result.reason);
    return;
  }
  const action = result.action;
  const requester = action.who?.user ?? action.who?.nick ?? 'the requester';
  conclude(
    turn,
    'approved',
    `approved ${action.line} (code ${action.code}) for ${requester}: they may now 'confirm ${action.code}' within ${deps.confirmations.timeout} s`,
  );
}

/** The pending command, asked again with the confirming turn's identity and place. */
function reauthorize(deps: PipelineDeps, turn: Turn, action: PendingAction): Promise<Decision> {
  return deps.authorizer.authorize(
    authorizationRequest(deps, { ...turn, spec: action.spec, args: action.args }),
  );
}

let lapseSequence = 0;

/** Records every pending action that lapsed since the last sweep. Safe to call from a timer. */
export async function recordLapses(
  deps: Pick<PipelineDeps, 'confirmations' | 'audit' | 'now' | 'logger'>,
): Promise<void> {
  const lapsed = deps.confirmations.sweep();
  if (lapsed.length === 0) return;
  const now = deps.now();
  const entries = lapsed.map((action): AuditRecord => {
    const entry: AuditRecord = {
      id: `${now.getTime().toString(36)}-${process.pid.toString(36)}-l${(lapseSequence++).toString(36)}`,
      time: now.toISOString(),
      transport: action.place?.transport ?? '',
      network: action.place?.network ?? '',
      channel: action.place?.channel ?? '',
      user: action.who?.user ?? null,
      nick: action.who?.nick ?? '',
      proof: action.who?.proof ?? 'anonymous',
      command: action.line,
      path: action.spec.path.join('.'),
      outcome: 'lapsed',
      detail: `code ${action.code} lapsed at ${new Date(action.expiresAt).toISOString()} without ${
        action.approval && action.approval.approvedBy === undefined ? 'approval' : 'confirmation'
      }: nothing was done`,
    };
    if (action.host !== undefined) entry.host = action.host;
    if (action.vm !== undefined) entry.vm = action.vm;
    return entry;
  });
  try {
    await Promise.all(entries.map((entry) => deps.audit.append(entry)));
  } catch (error) {
    deps.logger.error({ err: error }, 'could not record lapsed confirmations');
    throw error;
  }
}

function adoptTarget(turn: Turn, action: { host?: string; vm?: string }): void {
  if (action.host !== undefined) turn.host = action.host;
  if (action.vm !== undefined) turn.vm = action.vm;
}
