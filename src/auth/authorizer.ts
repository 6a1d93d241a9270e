/**
 * Deny by default: a command runs only when one of the identity's roles grants its permission.
 * Roles list permission globs; a glob with a leading '!' denies. The most specific matching
 * glob decides; on a tie, deny wins.
 */

import type { Args, CommandSpec } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import type { Identity, Place } from '../core/types.js';
import { globToRegExp, specificity } from './glob.js';

export interface Decision {
  allowed: boolean;
  /** What decided: 'role admin: vm.*', or 'no rule grants vm.delete'. */
  rule: string;
  reason: string;
}

export interface AuthorizationRequest {
  identity: Identity;
  permission: string;
  /** The command and its validated arguments, for rules that look at them. */
  spec?: CommandSpec;
  args?: Args;
  place?: Place;
  placeKey?: string;
  host?: string;
  vm?: string;
}

export interface Authorizer {
  authorize(request: AuthorizationRequest): Promise<Decision>;
}

export class RoleAuthorizer implements Authorizer {
  constructor(private readonly config: Config) {}

  async authorize({ identity, permission }: AuthorizationRequest): Promise<Decision> {
    let best: { allow: boolean; glob: string; role: string; weight: number } | undefined;
    for (const role of identity.roles) {
      for (const entry of this.config.roles[role]?.permissions ?? []) {
        const allow = !entry.startsWith('!');
        const glob = allow ? entry : entry.slice(1);
        if (!globToRegExp(glob).test(permission)) continue;
        const weight = specificity(glob);
        if (!best || weight > best.weight || (weight === best.weight && !allow))
          best = { allow, glob, role, weight };
      }
    }
    const who = identity.user ?? `${identity.nick} (not identified)`;
    if (!best) {
      return { allowed: false, rule: 'default deny', reason: `no role of ${who} grants ${permission}` };
    }
    const rule = `role ${best.role}: ${best.allow ? '' : '!'}${best.glob}`;
    return best.allow
      ? { allowed: true, rule, reason: `${rule} grants ${permission}` }
      : { allowed: false, rule, reason: `${rule} denies ${permission}` };
  }
}
