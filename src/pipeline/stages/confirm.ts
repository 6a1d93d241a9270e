/**
 * Confirm: an invocation the judge put under confirmation (destructive, or under approval)
 * stops here with a one-time code, stored as the bound invocation. `confirm CODE` brings it back
 * through target and authorize; here it then passes when every approval the *new* verdict asks
 * for was given. A rule that began to ask for an approval meanwhile stops it.
 */
import type { Confirmations } from '../../auth/confirmations.js';
import { type Authorized, aimOf, stop } from '../invocation.js';

export async function confirm(authorized: Authorized, confirmations: Confirmations): Promise<Authorized> {
  const { verdict, confirmed } = authorized;
  const { approvals } = verdict.obligations;
  if (confirmed) {
    const missing = approvals.filter(
      (need) => !need.rules.every((rule) => confirmed.approvalRules.includes(rule)),
    );
    if (missing.length > 0) {
      const reason = `${authorized.canonical} now needs approval (${missing.flatMap((n) => n.rules).join(', ')}): run it again`;
      throw stop('denied', reason, { text: `denied: ${reason}` });
    }
    return authorized;
  }
  if (!verdict.obligations.confirm) return authorized;
  const { msg, identity } = authorized;
  const pending = await confirmations.create(
    {
      command: authorized.command,
      args: authorized.args,
      line: authorized.canonical,
      requester: authorized.requester,
      placeKey: authorized.placeKey,
      place: msg.place,
      who: { user: identity.user, nick: identity.nick, proof: identity.proof },
      ...aimOf(authorized.target),
    },
    approvals,
  );
  const p = msg.replyPrefix ?? '';
  const seconds = confirmations.timeout;
  const path = authorized.command.path.join(' ');
  const code = pending.code;
  const text =
    approvals.length > 0
      ? `${path} needs approval (${approvals.flatMap((n) => n.rules).join('; ')}): a holder of role ${approvals
          .map((n) => n.approvers.join(' or '))
          .join(
            ', and one of ',
          )} must type '${p}approve ${code}' here within ${seconds} s, then you '${p}confirm ${code}' (or '${p}cancel ${code}')`
      : `${path} is destructive: type '${p}confirm ${code}' within ${seconds} s to go ahead, or '${p}cancel ${code}'`;
  throw stop('pending', text, {
    kind: 'confirm',
    confirmCode: code,
    actions: approvals.length > 0 ? ['approve', 'deny', 'confirm', 'cancel'] : ['confirm', 'cancel'],
  });
}
