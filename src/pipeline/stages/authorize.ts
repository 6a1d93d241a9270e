import type { AuthorizationRequest } from '../../auth/authorizer.js';
import { permissionOf } from '../../command/spec.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude, type Turn } from '../turn.js';

/** Deny by default; the authorizer's reason is both the reply and the record's detail. */
export function authorize(deps: PipelineDeps): Middleware<Turn> {
  return async (turn, next) => {
    const spec = turn.spec!;
    if (spec.open) {
      turn.decision = {
        allowed: true,
        rule: 'open command',
        reason: `${spec.path.join(' ')} is open to everyone`,
      };
      await next();
      return;
    }
    const decision = await deps.authorizer.authorize(authorizationRequest(deps, turn));
    turn.decision = decision;
    if (!decision.allowed) {
      conclude(turn, 'denied', decision.reason, { text: `denied: ${decision.reason}` });
      return;
    }
    await next();
  };
}

/**
 * What the authorizer is asked about a turn. A command aimed at a VM without naming a host runs
 * on the default host, so host rules and per-VM access are judged against that host.
 */
export function authorizationRequest(deps: Pick<PipelineDeps, 'hosts'>, turn: Turn): AuthorizationRequest {
  const spec = turn.spec!;
  const host = turn.host ?? (turn.vm !== undefined ? deps.hosts.defaultHost() : undefined);
  return {
    identity: turn.identity,
    permission: permissionOf(spec),
    spec,
    args: turn.args!,
    placeKey: turn.placeKey,
    place: turn.msg.place,
    ...(host !== undefined ? { host } : {}),
    ...(turn.vm !== undefined ? { vm: turn.vm } : {}),
  };
}
