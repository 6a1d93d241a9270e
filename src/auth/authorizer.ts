/**
 * Deny by default. A request is decided by, in order:
 *
 * 1. the config's **rules** that match it (command, target host and VM, place, arguments): the most
 *    specific one wins — most conditions, then the longest literal text, then the most
 *    restrictive effect (deny > require-approval > require-role > allow);
 * 2. when no rule matches, the identity's **roles**: permission globs, a leading '!' denies; the
 *    most specific matching glob decides and on a tie deny wins;
 * 3. when no role glob matches, **per-VM access**: a user named in the VM's `<access>` (by system
 *    account), or a member of one of its groups, may run its non-destructive commands;
 * 4. otherwise: no.
 */

import type { Args, ArgType, CommandSpec } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import type { Identity, Place } from '../core/types.js';
import { parseSize } from '../grammar/types.js';
import { globToRegExp, specificity } from './glob.js';
import type { VmAccessLookup } from './vm-access.js';

export interface Decision {
  allowed: boolean;
  /** What decided: 'role admin: vm.*', "rule 'prod' (vm.* on host prod-*)", or 'default deny'. */
  rule: string;
  reason: string;
  /** Set when the command may run only after another person approves it. */
  approval?: { approvers: string[]; rule: string };
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

export type Rule = Config['rules'][number];

export interface AuthorizerOptions {
  /** Reads a VM's `<access>` list; without it there is no per-VM access. */
  vmAccess?: VmAccessLookup;
}

const RESTRICTIVENESS: Record<Rule['effect'], number> = {
  allow: 0,
  'require-role': 1,
  'require-approval': 2,
  deny: 3,
};

export class RoleAuthorizer implements Authorizer {
  constructor(
    private readonly config: Config,
    private readonly options: AuthorizerOptions = {},
  ) {}

  async authorize(request: AuthorizationRequest): Promise<Decision> {
    const winner = this.winningRule(request);
    if (winner) return this.applyRule(winner.rule, winner.index, request);
    return this.byRolesAndVmAccess(request);
  }

  /** The rule that decides this request, if any (exported for explanations and tests). */
  winningRule(request: AuthorizationRequest): { rule: Rule; index: number } | undefined {
    let best: { rule: Rule; index: number; weight: [number, number, number] } | undefined;
    this.config.rules.forEach((rule, index) => {
      if (!ruleMatches(rule, request)) return;
      const weight = ruleWeight(rule);
      if (!best || compareWeights(weight, best.weight) > 0) best = { rule, index, weight };
    });
    return best && { rule: best.rule, index: best.index };
  }

  private async applyRule(rule: Rule, index: number, request: AuthorizationRequest): Promise<Decision> {
    const label = ruleLabel(rule, index);
    const why = rule.reason !== undefined ? ` (${rule.reason})` : '';
    const { permission, identity } = request;
    const who = describeWho(identity);
    switch (rule.effect) {
      case 'deny':
        return { allowed: false, rule: label, reason: `${label} denies ${permission}${why}` };
      case 'allow':
        return { allowed: true, rule: label, reason: `${label} allows ${permission}${why}` };
      case 'require-role': {
        const held = rule.roles!.find((role) => identity.roles.includes(role));
        return held !== undefined
          ? {
              allowed: true,
              rule: label,
              reason: `${label}: ${who} holds role ${held}, which it requires${why}`,
            }
          : {
              allowed: false,
              rule: label,
              reason: `${label}: ${permission} needs role ${rule.roles!.join(' or ')}, which ${who} does not hold${why}`,
            };
      }
      case 'require-approval': {
        const approvers = rule.approvers ?? ['approver'];
        const approval = { approvers, rule: label };
        const needs = `needs approval by a holder of role ${approvers.join(' or ')}`;
        if (rule.roles !== undefined) {
          const held = rule.roles.find((role) => identity.roles.includes(role));
          if (held === undefined) {
            return {
              allowed: false,
              rule: label,
              reason: `${label}: ${permission} needs role ${rule.roles.join(' or ')}, which ${who} does not hold${why}`,
            };
          }
          return {
            allowed: true,
            rule: label,
            reason: `${label}: ${who} holds role ${held}; ${permission} ${needs}${why}`,
            approval,
          };
        }
        const base = await this.byRolesAndVmAccess(request);
        if (!base.allowed)
          return { ...base, reason: `${base.reason}; besides, ${label}: ${permission} ${needs}` };
        return {
          allowed: true,
          rule: label,
          reason: `${base.reason}; ${label}: ${permission} ${needs}${why}`,
          approval,
        };
      }
    }
  }

  private async byRolesAndVmAccess(request: AuthorizationRequest): Promise<Decision> {
    const { identity, permission } = request;
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
    const who = describeWho(identity);
    if (best) {
      const rule = `role ${best.role}: ${best.allow ? '' : '!'}${best.glob}`;
      return best.allow
        ? { allowed: true, rule, reason: `${rule} grants ${permission}` }
        : { allowed: false, rule, reason: `${rule} denies ${permission}` };
    }
    const perVm = await this.byVmAccess(request);
    if (perVm) return perVm;
    return { allowed: false, rule: 'default deny', reason: `no role of ${who} grants ${permission}` };
  }

  /** Per-VM access, or undefined when it does not apply. Fails closed when the list cannot be read. */
  private async byVmAccess(request: AuthorizationRequest): Promise<Decision | undefined> {
    const { identity, permission, spec, host, vm } = request;
    const lookup = this.options.vmAccess;
    if (!lookup || !this.config.vmAccess.enabled) return undefined;
    if (identity.user === null || !spec || spec.destructive || !spec.target?.vm) return undefined;
    if (host === undefined || vm === undefined) return undefined;
    if (!globsAllow(this.config.vmAccess.permissions, permission)) return undefined;
    const account = identity.systemAccount;
    const systemGroups = identity.groups
      .map((group) => this.config.groups[group]?.system)
      .filter((name): name is string => name !== undefined);
    if (account === undefined && systemGroups.length === 0) return undefined;
    const who = describeWho(identity);
    const rule = `per-VM access of ${vm} on ${host}`;
    let access: { users: string[]; groups: string[] };
    try {
      access = await lookup.usersAndGroups(host, vm);
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      return {
        allowed: false,
        rule,
        reason: `no role of ${who} grants ${permission}, and the access list of ${vm} on ${host} cannot be read (${message.slice(0, 120)})`,
      };
    }
    if (account !== undefined && access.users.includes(account)) {
      return {
        allowed: true,
        rule,
        reason: `${who} (system account ${account}) is a user of ${vm} on ${host}`,
      };
    }
    const group = systemGroups.find((g) => access.groups.includes(g));
    if (group !== undefined) {
      return {
        allowed: true,
        rule,
        reason: `${who} is a member of group ${group}, which may use ${vm} on ${host}`,
      };
    }
    return undefined;
  }
}

function describeWho(identity: Identity): string {
  return identity.user ?? `${identity.nick} (not identified)`;
}

/** Role-style glob list: most specific matching glob decides, deny wins ties, nothing matches → false. */
export function globsAllow(globs: readonly string[], permission: string): boolean {
  let best: { allow: boolean; weight: number } | undefined;
  for (const entry of globs) {
    const allow = !entry.startsWith('!');
    const glob = allow ? entry : entry.slice(1);
    if (!globToRegExp(glob).test(permission)) continue;
    const weight = specificity(glob);
    if (!best || weight > best.weight || (weight === best.weight && !allow)) best = { allow, weight };
  }
  return best?.allow === true;
}

export function ruleLabel(rule: Rule, index: number): string {
  const name = rule.name ?? `#${index + 1}`;
  return `rule ${name} (${describeRule(rule)})`;
}

/** `vm.* on host prod-* in #ops with network=prod-*: require-role prod-admin` */
export function describeRule(rule: Rule): string {
  const parts = [rule.permission ?? '*'];
  if (rule.host !== undefined) parts.push(`on host ${rule.host}`);
  if (rule.vm !== undefined) parts.push(`on VM ${rule.vm}`);
  if (rule.channels !== undefined) parts.push(`in ${rule.channels.join(', ')}`);
  if (rule.notChannels !== undefined) parts.push(`outside ${rule.notChannels.join(', ')}`);
  if (rule.args !== undefined) {
    parts.push(
      `with ${Object.entries(rule.args)
        .map(([key, value]) =>
          typeof value === 'string' && /^[<>=]/.test(value) ? `${key}${value}` : `${key}=${value}`,
        )
        .join(' ')}`,
    );
  }
  return parts.join(' ');
}

function globMatches(glob: string, value: string): boolean {
  return globToRegExp(glob, 'i').test(value);
}

function placeMatches(globs: readonly string[], place: Place): boolean {
  return globs.some((glob) =>
    glob.toLowerCase() === 'private' ? place.private : !place.private && globMatches(glob, place.channel),
  );
}

export function ruleMatches(rule: Rule, request: AuthorizationRequest): boolean {
  if (rule.permission !== undefined && !globToRegExp(rule.permission).test(request.permission)) return false;
  if (rule.host !== undefined && (request.host === undefined || !globMatches(rule.host, request.host)))
    return false;
  if (rule.vm !== undefined && (request.vm === undefined || !globMatches(rule.vm, request.vm))) return false;
  if (rule.channels !== undefined && (!request.place || !placeMatches(rule.channels, request.place)))
    return false;
  // Unknown place: a rule that applies "outside" some places applies (fail closed for deny rules).
  if (rule.notChannels !== undefined && request.place && placeMatches(rule.notChannels, request.place))
    return false;
  for (const [name, condition] of Object.entries(rule.args ?? {})) {
    const type = request.spec?.args.find((arg) => arg.name === name)?.type;
    if (!argMatches(condition, request.args?.[name], type)) return false;
  }
  return true;
}

const COMPARISON = /^(<=|>=|<|>|=)\s*(\S.*)$/;

export function argMatches(condition: string | number | boolean, value: unknown, type?: ArgType): boolean {
  if (value === undefined) return false;
  if (typeof condition === 'boolean') return value === condition;
  if (typeof condition === 'number') return typeof value === 'number' && value === condition;
  const comparison = COMPARISON.exec(condition);
  if (comparison && typeof value === 'number') {
    const limit = comparisonValue(comparison[2]!, type);
    if (limit === undefined) return false;
    switch (comparison[1]) {
      case '<':
        return value < limit;
      case '<=':
        return value <= limit;
      case '>':
        return value > limit;
      case '>=':
        return value >= limit;
      default:
        return value === limit;
    }
  }
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => globMatches(condition, String(v)));
}

function comparisonValue(text: string, type?: ArgType): number | undefined {
  try {
    if (type === 'size' || !/^-?\d+(\.\d+)?$/.test(text)) return parseSize(text);
  } catch {
    return undefined;
  }
  return Number(text);
}

function ruleWeight(rule: Rule): [number, number, number] {
  let conditions = 0;
  let literal = 0;
  const count = (glob: string | undefined) => {
    if (glob === undefined) return;
    conditions++;
    literal += specificity(glob);
  };
  if (rule.permission !== undefined && rule.permission !== '*') count(rule.permission);
  count(rule.host);
  count(rule.vm);
  if (rule.channels !== undefined) count(rule.channels.join(''));
  if (rule.notChannels !== undefined) count(rule.notChannels.join(''));
  for (const value of Object.values(rule.args ?? {})) count(String(value));
  return [conditions, literal, RESTRICTIVENESS[rule.effect]];
}

function compareWeights(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
