/**
 * Authorize: the judge (src/auth/judge.ts) on the invocation as it will run — its bound host
 * and VM, arguments, place and identity. Denied ends the turn. A fan-out is judged host by host:
 * it runs on the hosts the person may act on, says which it left out, and is denied only when
 * there are none.
 */
import {
  type ApprovalNeed,
  describeObligations,
  type JudgeRequest,
  judge,
  type Verdict,
} from '../../auth/judge.js';
import type { Config } from '../../config/schema.js';
import { type Authorized, type HostBinding, type Invocation, stop, type Target } from '../invocation.js';

export function judgeRequest(invocation: Invocation, host?: string): JudgeRequest {
  const { command, identity, args, msg, target } = invocation;
  const request: JudgeRequest = { identity, command, args, place: msg.place };
  const aim = aimFor(target, host);
  if (aim.host !== undefined) request.host = aim.host;
  if (aim.vm !== undefined) request.vm = aim.vm;
  if (target.kind === 'vm' && target.access) request.vmAccess = target.access;
  return request;
}

function aimFor(target: Target, host?: string): { host?: string; vm?: string } {
  switch (target.kind) {
    case 'none':
      return {};
    case 'hosts':
      return host !== undefined ? { host } : {};
    case 'host':
      return { host: target.host.name };
    case 'vm':
    case 'new-vm':
      return { host: target.host.name, vm: target.vm };
  }
}

/** What `vm.create` is judged as, for a command that brings a VM of a new name into being. */
const CREATE_VM = {
  permission: 'vm.create',
  open: false,
  destructive: false,
  target: { kind: 'new-vm' },
  args: [],
} as const;

/**
 * The verdict on a single-target invocation: its own permission, and, for a command that makes
 * a VM under a new name (see CommandSpec.createsVm), `vm.create` of that name on the same host.
 * Both must allow; their obligations add up (the command's own snapshot-first stays its own).
 */
export function verdictFor(invocation: Invocation, config: Config): Verdict {
  const own = judge(config, judgeRequest(invocation));
  const name = invocation.command.createsVm;
  const made = name !== undefined ? invocation.args[name] : undefined;
  if (!own.allowed || typeof made !== 'string' || invocation.target.kind !== 'vm') return own;
  const create = judge(config, {
    identity: invocation.identity,
    command: CREATE_VM,
    args: {},
    place: invocation.msg.place,
    host: invocation.target.host.name,
    vm: made,
  });
  if (!create.allowed) {
    return { ...create, reason: `making a VM named ${made} is vm.create of it: ${create.reason}` };
  }
  const merged = mergeVerdicts([own, create]);
  return { ...merged, obligations: { ...merged.obligations, ...snapshotOf(own) } };
}

function snapshotOf(verdict: Verdict): { snapshot?: { rules: string[] } } {
  return verdict.obligations.snapshot ? { snapshot: verdict.obligations.snapshot } : {};
}

export function authorize(invocation: Invocation, config: Config): Authorized {
  if (invocation.target.kind === 'hosts') return authorizeFanOut(invocation, invocation.target, config);
  const verdict = verdictFor(invocation, config);
  if (!verdict.allowed) {
    // What the target stage noticed (an access list it could not read) belongs with a denial.
    const notes = invocation.target.kind === 'vm' ? invocation.target.notes : [];
    const reason = [verdict.reason, ...notes].join('; ');
    throw stop('denied', reason, { text: `denied: ${reason}` });
  }
  return { ...invocation, verdict, withheld: [] };
}

function authorizeFanOut(
  invocation: Invocation,
  target: Extract<Target, { kind: 'hosts' }>,
  config: Config,
): Authorized {
  const allowed: { host: HostBinding; verdict: Verdict }[] = [];
  const withheld: { name: string; reason: string }[] = [];
  for (const host of target.hosts) {
    const verdict = judge(config, judgeRequest(invocation, host.name));
    if (verdict.allowed) allowed.push({ host, verdict });
    else withheld.push({ name: host.name, reason: verdict.reason });
  }
  if (allowed.length === 0) {
    // One reason for every host is said once; different reasons are said host by host.
    const reason =
      new Set(withheld.map((w) => w.reason)).size === 1
        ? withheld[0]!.reason
        : withheld.map((w) => `${w.name}: ${w.reason}`).join('; ');
    throw stop('denied', reason, { text: `denied: ${reason}` });
  }
  // A host whose rules ask for an approval never rides along with hosts that do not: it is left
  // out (ask for it alone, with host=). When every host asks for one, all approvals are asked.
  const free = allowed.filter((a) => a.verdict.obligations.approvals.length === 0);
  const running = free.length > 0 ? free : allowed;
  for (const a of allowed.filter((x) => !running.includes(x))) {
    withheld.push({
      name: a.host.name,
      reason: `needs approval there (${a.verdict.obligations.approvals.flatMap((n) => n.rules).join(', ')}): ask for it with host=${a.host.name}`,
    });
  }
  const verdict = mergeVerdicts(running.map((a) => a.verdict));
  return { ...invocation, target: { kind: 'hosts', hosts: running.map((a) => a.host) }, verdict, withheld };
}

/** The verdicts of a fan-out's hosts as one: every obligation of every host. */
function mergeVerdicts(verdicts: Verdict[]): Verdict {
  const first = verdicts[0]!;
  const approvals: ApprovalNeed[] = [];
  for (const need of verdicts.flatMap((v) => v.obligations.approvals)) {
    const same = approvals.find(
      (a) =>
        a.approvers.length === need.approvers.length && a.approvers.every((r) => need.approvers.includes(r)),
    );
    if (same) same.rules.push(...need.rules.filter((r) => !same.rules.includes(r)));
    else approvals.push({ rules: [...need.rules], approvers: [...need.approvers] });
  }
  return {
    ...first,
    reason: [...new Set(verdicts.map((v) => v.reason))].join('; '),
    obligations: { confirm: verdicts.some((v) => v.obligations.confirm), approvals },
  };
}

/** "may run vm delete …: <reason> (then approval by …, then 'confirm CODE' by alice)" for explanations. */
export function obligationNote(verdict: Verdict, requester: string): string {
  const steps = describeObligations(verdict.obligations, requester);
  return steps.length > 0 ? ` (then ${steps.join(', then ')})` : '';
}
