import { identityKey } from '../../auth/confirmations.js';
import { permissionOf } from '../../command/spec.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude, type Turn } from '../turn.js';

/**
 * Destructive commands stop here with a one-time code. `confirm CODE` by the same identity, in
 * the same place, before it lapses, brings the pending command back — re-authorized, since
 * roles may have changed meanwhile — and lets it run. `cancel CODE` drops it.
 */
export function confirm(deps: PipelineDeps): Middleware<Turn> {
  return async (turn, next) => {
    const path = turn.spec!.path.join(' ');
    if (path === 'confirm' || path === 'cancel') {
      const code = String(turn.args!['code']);
      const redemption = deps.confirmations.redeem(
        code,
        identityKey(turn.identity, turn.placeKey),
        turn.placeKey,
      );
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
      const decision = await deps.authorizer.authorize({
        identity: turn.identity,
        permission: permissionOf(action.spec),
        spec: action.spec,
        args: action.args,
        placeKey: turn.placeKey,
        place: turn.msg.place,
        ...(action.host !== undefined ? { host: action.host } : {}),
        ...(action.vm !== undefined ? { vm: action.vm } : {}),
      });
      if (!decision.allowed) {
        conclude(turn, 'denied', `denied: ${decision.reason}`);
        return;
      }
      // From here on this turn is the confirmed command; the record says it was confirmed.
      turn.spec = action.spec;
      turn.args = action.args;
      turn.line = `${action.line} (confirmed ${action.code})`;
      turn.decision = decision;
      await next();
      return;
    }
    if (turn.spec!.destructive) {
      const action = deps.confirmations.create({
        spec: turn.spec!,
        args: turn.args!,
        line: turn.line,
        requester: identityKey(turn.identity, turn.placeKey),
        placeKey: turn.placeKey,
        ...(turn.host !== undefined ? { host: turn.host } : {}),
        ...(turn.vm !== undefined ? { vm: turn.vm } : {}),
      });
      const seconds = deps.confirmations.timeout;
      conclude(
        turn,
        'pending',
        `${path} is destructive: type 'confirm ${action.code}' within ${seconds} s to go ahead, or 'cancel ${action.code}'`,
        { kind: 'confirm', confirmCode: action.code },
      );
      return;
    }
    await next();
  };
}

function adoptTarget(turn: Turn, action: { host?: string; vm?: string }): void {
  if (action.host !== undefined) turn.host = action.host;
  if (action.vm !== undefined) turn.vm = action.vm;
}
