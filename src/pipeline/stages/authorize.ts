/**
 * Authorize: the judge (src/auth/judge.ts) on the invocation as it will run — its bound host
 * and VM, arguments, place and identity. Denied ends the turn. A fan-out is judged host by host:
 * it runs on the hosts the person may act on, says which it left out, and is denied only when
 * there are none.
 */
import { describeObligations, type JudgeRequest, judge, type Verdict } from '../../auth/judge.js';
import type { Config } from '../../config/schema.js';
import { type Authorized, type Invocation, stop, type Target } from '../invocation.js';

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

export function authorize(invocation: Invocation, config: Config): Authorized {
  if (invocation.target.kind === 'hosts') return authorizeFanOut(invocation, invocation.target, config);
  const verdict = judge(config, judgeRequest(invocation));
  if (!verdict.allowed) throw stop('denied', verdict.reason, { text: `denied: ${verdict.reason}` });
  return { ...invocation, verdict, withheld: [] };
}

function authorizeFanOut(
  invocation: Invocation,
  target: Extract<Target, { kind: 'hosts' }>,
  config: Config,
): Authorized {
  const allowed: typeof target.hosts = [];
  const withheld: { name: string; reason: string }[] = [];
  let first: Verdict | undefined;
  for (const host of target.hosts) {
    const verdict = judge(config, judgeRequest(invocation, host.name));
    if (verdict.allowed) {
      allowed.push(host);
      first ??= verdict;
    } else {
      withheld.push({ name: host.name, reason: verdict.reason });
    }
  }
  if (!first) {
    // One reason for every host is said once; different reasons are said host by host.
    const reason =
      new Set(withheld.map((w) => w.reason)).size === 1
        ? withheld[0]!.reason
        : withheld.map((w) => `${w.name}: ${w.reason}`).join('; ');
    throw stop('denied', reason, { text: `denied: ${reason}` });
  }
  return { ...invocation, target: { kind: 'hosts', hosts: allowed }, verdict: first, withheld };
}

/** "may run vm delete …: <reason> (then approval by …, then 'confirm CODE' by alice)" for explanations. */
export function obligationNote(verdict: Verdict, requester: string): string {
  const steps = describeObligations(verdict.obligations, requester);
  return steps.length > 0 ? ` (then ${steps.join(', then ')})` : '';
}
