/**
 * The one judge. The pipeline's authorize stage and `permissions check` both call `judge` on the
 * same resolved invocation (command, bound arguments, target host and VM, the VM's access list,
 * the place, the identity); nothing else decides. It is a pure function of its request and the
 * config: no I/O, so what it says can be explained and tested exhaustively.
 *
 * How an answer is built (deny by default):
 *
 * 1. **The grant.** Of the matching `allow`/`deny` rules, the most specific decides (more
 *    conditions, then more literal text; on a tie, deny). A deciding `deny` is final: nothing
 *    below can undo it. Without such a rule, the identity's roles decide (their most specific
 *    matching glob; `!glob` denies; on a tie, deny), and without a matching glob, per-VM access
 *    (the user or one of their groups is in the VM's `<access>`, for the permissions
 *    `vmAccess.permissions` lists; a destructive one only when listed by its exact name). Nothing
 *    grants: no.
 * 2. **Required roles accumulate.** Every matching `require-role` rule must be met (one of its
 *    roles held). A rule requires; it never grants by itself.
 * 3. **Approvals accumulate.** Every matching `require-approval` rule adds an approval by a
 *    holder of one of its approver roles (and, with `roles`, requires one of those roles of the
 *    requester). No more specific rule drops an approval.
 * 4. **Host resources need a role.** A grant that comes only from per-VM access never covers
 *    arguments that name host resources by name (paths, bridges).
 * 5. **Confirmation** is required for destructive commands and for anything under approval.
 * 6. **Snapshots first accumulate.** Every matching `snapshot-first` rule asks that a snapshot of
 *    the target VM be taken (after confirmation, before the command runs); it grants nothing.
 */
import type { ArgSpec, Args, ArgType, TargetKind } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import type { Identity, Place } from '../core/types.js';
import { globToRegExp, specificity } from './glob.js';
import { compareWeights, type Rule, ruleLabel, ruleMatches, ruleWeight } from './rules.js';
import type { VmAccessList } from './vm-access.js';

/** The permission-relevant facts of a command declaration. */
export interface JudgedCommand {
  permission: string;
  open: boolean;
  destructive: boolean;
  target: { kind: TargetKind };
  args: readonly Pick<ArgSpec, 'name' | 'type'>[];
}

export interface JudgeRequest {
  identity: Identity;
  command: JudgedCommand;
  args: Args;
  place: Place;
  host?: string;
  vm?: string;
  /** The VM's access list, read by the target stage for identities per-VM access could apply to. */
  vmAccess?: VmAccessList;
}

export interface ApprovalNeed {
  /** The rules that ask for it (rules asking the same approvers share one approval). */
  rules: string[];
  /** Any one of these roles may approve. */
  approvers: string[];
}

export interface Obligations {
  /** The requester must `confirm CODE`. */
  confirm: boolean;
  /** Each must be met by an approval before the requester may confirm. */
  approvals: ApprovalNeed[];
  /** A snapshot of the target VM is taken before the command runs (the rules that ask for it). */
  snapshot?: { rules: string[] };
}

export interface Verdict {
  allowed: boolean;
  /** What granted or refused the permission itself: a rule, a role glob, per-VM access, or 'default deny'. */
  basis: string;
  /** The one-line reason: the grant, then each rule that added a requirement. */
  reason: string;
  obligations: Obligations;
}

/** Argument types that name things on the host itself. */
const HOST_RESOURCE_TYPES: ReadonlySet<ArgType> = new Set(['path', 'bridge']);

/** Permissions per-VM access can never give, whatever `vmAccess.permissions` says. */
const NEVER_PER_VM = ['vm.delete', 'vm.users.*', 'vm.groups.*'];

export function describeWho(identity: Identity): string {
  return identity.user ?? `${identity.nick} (not identified)`;
}

export function judge(config: Config, request: JudgeRequest): Verdict {
  const { command, identity } = request;
  const permission = command.permission;
  const confirm = command.destructive;
  if (command.open) {
    return {
      allowed: true,
      basis: 'open command',
      reason: `${permission} is open to everyone`,
      obligations: { confirm, approvals: [] },
    };
  }
  const subject = {
    permission,
    place: request.place,
    args: request.args,
    argTypes: Object.fromEntries(command.args.map((a) => [a.name, a.type])),
    ...(request.host !== undefined ? { host: request.host } : {}),
    ...(request.vm !== undefined ? { vm: request.vm } : {}),
  };
  const matching = config.rules
    .map((rule, index) => ({ rule, label: ruleLabel(rule, index) }))
    .filter(({ rule }) => ruleMatches(rule, subject));
  const deny = (basis: string, reason: string): Verdict => ({
    allowed: false,
    basis,
    reason,
    obligations: { confirm, approvals: [] },
  });

  const grant = decideGrant(config, request, matching);
  if (!grant.allowed) return deny(grant.basis, grant.reason);

  const who = describeWho(identity);
  const reasons = [grant.reason];
  for (const { rule, label } of matching.filter((m) => m.rule.effect === 'require-role')) {
    const held = rule.roles!.find((role) => identity.roles.includes(role));
    if (held === undefined) {
      return deny(
        label,
        `${label}: ${permission} needs role ${rule.roles!.join(' or ')}, which ${who} does not hold${because(rule)}`,
      );
    }
    reasons.push(`${label}: ${who} holds role ${held}${because(rule)}`);
  }

  const approvals: ApprovalNeed[] = [];
  for (const { rule, label } of matching.filter((m) => m.rule.effect === 'require-approval')) {
    if (rule.roles !== undefined) {
      const held = rule.roles.find((role) => identity.roles.includes(role));
      if (held === undefined) {
        return deny(
          label,
          `${label}: ${permission} needs role ${rule.roles.join(' or ')}, which ${who} does not hold${because(rule)}`,
        );
      }
    }
    const approvers = rule.approvers ?? ['approver'];
    const same = approvals.find((need) => sameSet(need.approvers, approvers));
    if (same) same.rules.push(label);
    else approvals.push({ rules: [label], approvers });
    reasons.push(`${label}: needs approval by a holder of role ${approvers.join(' or ')}${because(rule)}`);
  }

  if (grant.perVm) {
    const named = command.args.filter(
      (a) => HOST_RESOURCE_TYPES.has(a.type) && request.args[a.name] !== undefined,
    );
    if (named.length > 0) {
      const list = named.map((a) => `${a.name}=`).join(', ');
      return deny(
        grant.basis,
        `${grant.reason}, but ${list} names a resource of the host itself, which needs a role granting ${permission}`,
      );
    }
  }

  const obligations: Obligations = { confirm: confirm || approvals.length > 0, approvals };
  const snapshotRules = matching.filter((m) => m.rule.effect === 'snapshot-first');
  if (snapshotRules.length > 0) {
    obligations.snapshot = { rules: snapshotRules.map((m) => m.label) };
    for (const { rule, label } of snapshotRules)
      reasons.push(`${label}: takes a snapshot of the VM first${because(rule)}`);
  }
  return { allowed: true, basis: grant.basis, reason: reasons.join('; '), obligations };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function because(rule: Rule): string {
  return rule.reason !== undefined ? ` (${rule.reason})` : '';
}

interface Grant {
  allowed: boolean;
  basis: string;
  reason: string;
  /** The grant is per-VM access alone. */
  perVm?: boolean;
}

function decideGrant(
  config: Config,
  request: JudgeRequest,
  matching: { rule: Rule; label: string }[],
): Grant {
  const permission = request.command.permission;
  let best: { rule: Rule; label: string; weight: [number, number] } | undefined;
  for (const candidate of matching) {
    if (candidate.rule.effect !== 'allow' && candidate.rule.effect !== 'deny') continue;
    const weight = ruleWeight(candidate.rule);
    const order = best ? compareWeights(weight, best.weight) : 1;
    if (order > 0 || (order === 0 && candidate.rule.effect === 'deny')) best = { ...candidate, weight };
  }
  if (best) {
    const verb = best.rule.effect === 'deny' ? 'denies' : 'allows';
    return {
      allowed: best.rule.effect === 'allow',
      basis: best.label,
      reason: `${best.label} ${verb} ${permission}${because(best.rule)}`,
    };
  }
  const byRole = grantByRoles(config, request.identity, permission);
  if (byRole) return byRole;
  const perVm = grantByVmAccess(config, request);
  if (perVm) return perVm;
  return {
    allowed: false,
    basis: 'default deny',
    reason: `no role of ${describeWho(request.identity)} grants ${permission}`,
  };
}

/** The identity's role globs: the most specific matching one decides; on a tie, deny. */
function grantByRoles(config: Config, identity: Identity, permission: string): Grant | undefined {
  let best: { allow: boolean; glob: string; role: string; weight: number } | undefined;
  for (const role of identity.roles) {
    for (const entry of config.roles[role]?.permissions ?? []) {
      const allow = !entry.startsWith('!');
      const glob = allow ? entry : entry.slice(1);
      if (!globToRegExp(glob).test(permission)) continue;
      const weight = specificity(glob);
      if (!best || weight > best.weight || (weight === best.weight && !allow))
        best = { allow, glob, role, weight };
    }
  }
  if (!best) return undefined;
  const basis = `role ${best.role}: ${best.allow ? '' : '!'}${best.glob}`;
  return { allowed: best.allow, basis, reason: `${basis} ${best.allow ? 'grants' : 'denies'} ${permission}` };
}

/** Per-VM access, or undefined when it does not apply to this request. */
function grantByVmAccess(config: Config, request: JudgeRequest): Grant | undefined {
  const { identity, command, host, vm, vmAccess } = request;
  const permission = command.permission;
  if (!config.vmAccess.enabled || identity.user === null) return undefined;
  if (command.target.kind !== 'vm' || host === undefined || vm === undefined || vmAccess === undefined)
    return undefined;
  if (globsAllow(NEVER_PER_VM, permission)) return undefined;
  if (!globsAllow(config.vmAccess.permissions, permission)) return undefined;
  // A destructive command is covered only when named exactly (the default names vm.stop): a
  // glob such as vm.* never hands a per-VM user what removes NICs or disks.
  if (command.destructive && !config.vmAccess.permissions.includes(permission)) return undefined;
  const basis = `per-VM access of ${vm} on ${host}`;
  const who = describeWho(identity);
  const account = identity.systemAccount;
  if (account !== undefined && vmAccess.users.includes(account)) {
    return {
      allowed: true,
      basis,
      reason: `${who} (system account ${account}) is a user of ${vm} on ${host}`,
      perVm: true,
    };
  }
  const group = systemGroupsOf(config, identity).find((g) => vmAccess.groups.includes(g));
  if (group !== undefined) {
    return {
      allowed: true,
      basis,
      reason: `${who} is a member of group ${group}, which may use ${vm} on ${host}`,
      perVm: true,
    };
  }
  return undefined;
}

/** The hypervisor-side group names of the identity's configured groups. */
export function systemGroupsOf(config: Config, identity: Identity): string[] {
  return identity.groups
    .map((group) => config.groups[group]?.system)
    .filter((name): name is string => name !== undefined);
}

/** Could per-VM access apply to this identity at all (so the VM's access list is worth reading)? */
export function mayHaveVmAccess(config: Config, identity: Identity): boolean {
  return (
    config.vmAccess.enabled &&
    identity.user !== null &&
    (identity.systemAccount !== undefined || systemGroupsOf(config, identity).length > 0)
  );
}

/** Role-style glob list: the most specific matching glob decides, deny wins ties, nothing matches → false. */
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

/** The obligations in words, each once: "then approval by a holder of approver or admin, then 'confirm CODE' by alice". */
export function describeObligations(obligations: Obligations, requester: string): string[] {
  const steps = obligations.approvals.map(
    (need) => `approval by a holder of role ${need.approvers.join(' or ')}`,
  );
  if (obligations.confirm) steps.push(`'confirm CODE' by ${requester}`);
  if (obligations.snapshot) steps.push(`a snapshot of the VM (${obligations.snapshot.rules.join(', ')})`);
  return steps;
}
