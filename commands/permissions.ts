/**
 * `permissions check USER "COMMAND"` and `permissions rules`: explain who may do what. The check
 * runs the pipeline's own stages (parse, resolve, bind, target) and the one judge on the
 * invocation, so its answer is the answer the pipeline would give.
 */
import { describeObligations } from '../src/auth/judge.js';
import { ruleLabel } from '../src/auth/rules.js';
import { CommandError, type CommandGroup } from '../src/command/spec.js';
import type { Place } from '../src/core/types.js';
import { arg, defineCommand } from '../src/pipeline/define.js';
import { Stop } from '../src/pipeline/invocation.js';

/** Where to judge: `in=private`, `in=#chan`, or the conversation the question was asked in. */
function placeFor(where: string | undefined, here: Place): Place {
  if (where === undefined) return here;
  if (where === 'private')
    return { transport: here.transport, network: here.network, channel: '', private: true };
  const { label: _label, ...rest } = here;
  return { ...rest, channel: where, private: false };
}

const check = defineCommand({
  path: ['permissions', 'check'],
  summary:
    'say whether USER may run COMMAND, which rule or role decides, and what it then needs (quote COMMAND if it has key=value options)',
  args: {
    user: arg.name("a configured user, or 'anonymous'").positional().required(),
    command: arg.text('the command line to judge').positional().required(),
    in: arg.channel("judge it as said in this channel, or 'private' (default: here)"),
  },
  examples: [
    { input: 'permissions check anonymous help', reply: 'help is open to everyone' },
    { input: 'permissions check anonymous vm list', reply: 'role demo: * grants vm.list' },
    { input: 'permissions check bob vm list', reply: "no user 'bob' in the config" },
  ],
  async run({ args, ctx }) {
    const identity = ctx.permissions.identityOf(args.user);
    if (!identity) {
      const known = Object.keys(ctx.access.users);
      throw new CommandError(
        `no user '${args.user}' in the config (users: ${known.length > 0 ? known.join(', ') : 'none'}; or 'anonymous')`,
        'invalid',
      );
    }
    const place = placeFor(args.in, ctx.place);
    let explanation: Awaited<ReturnType<typeof ctx.permissions.explain>>;
    try {
      explanation = await ctx.permissions.explain(identity, args.command, place);
    } catch (error) {
      if (error instanceof Stop) {
        throw new CommandError(
          `cannot judge ${JSON.stringify(args.command.slice(0, 80))}: ${error.ending.detail}`,
          'invalid',
        );
      }
      throw error;
    }
    const { path, aim, verdict } = explanation;
    const where = place.private
      ? 'in private'
      : `in ${place.label ?? (place.channel || 'this conversation')}`;
    const on = aim === 'no host' ? '' : ` (${aim})`;
    if (!verdict.allowed)
      return { reply: `${args.user} may not run ${path}${on} ${where}: ${verdict.reason}` };
    const steps = describeObligations(verdict.obligations, args.user);
    return {
      reply: `${args.user} may run ${path}${on} ${where}: ${verdict.reason}${steps.length > 0 ? ` — then ${steps.join(', then ')}` : ''}`,
    };
  },
});

const rules = defineCommand({
  path: ['permissions', 'rules'],
  summary: 'list the rules of the config, in order, with their effects',
  args: {},
  examples: [{ input: 'permissions rules', reply: 'no rules: roles alone decide' }],
  async run({ ctx }) {
    const list = ctx.access.rules;
    if (list.length === 0) return { reply: 'no rules: roles alone decide (and without a role: no)' };
    const lines = list.map((rule, index) => {
      const roles = rule.roles ? ` ${rule.roles.join('|')}` : '';
      const approvers =
        rule.effect === 'require-approval' ? ` by ${(rule.approvers ?? ['approver']).join('|')}` : '';
      return `${ruleLabel(rule, index)}: ${rule.effect}${roles}${approvers}${rule.reason ? ` — ${rule.reason}` : ''}`;
    });
    return {
      reply: `${list.length} rules: a deny decides; required roles and approvals add up; else roles, else no`,
      lines,
    };
  },
});

export const group: CommandGroup = {
  name: 'permissions',
  summary: 'explain who may do what',
  commands: [check, rules],
};
