/**
 * `confirm`, `cancel`, `approve` and `deny`: the person's side of confirmation codes. These are
 * real commands: each checks the code against the asker and the place (through the confirmation
 * desk), and `confirm` hands the stored invocation back to the pipeline, which locates its target
 * and judges it again before it runs.
 */
import { pendingApprovals } from '../src/auth/confirmations.js';
import type { CommandGroup } from '../src/command/spec.js';
import { arg, defineCommand } from '../src/pipeline/define.js';

const code = () => arg.code('the code virtbot gave').positional().required();

const confirm = defineCommand({
  path: ['confirm'],
  summary: 'go ahead with the command that gave you this code (it is checked again first)',
  args: { code: code() },
  open: true,
  examples: [{ input: 'confirm ABCDEF', reply: 'no pending command has code ABCDEF' }],
  async run({ args, ctx }) {
    const resume = await ctx.confirmations.confirm(args.code);
    return { reply: `confirmed ${resume.code}`, resume };
  },
});

const cancel = defineCommand({
  path: ['cancel'],
  summary: 'drop your pending command with this code',
  args: { code: code() },
  open: true,
  examples: [{ input: 'cancel ABCDEF', reply: 'no pending command has code ABCDEF' }],
  async run({ args, ctx }) {
    const pending = await ctx.confirmations.cancel(args.code);
    return {
      reply: `cancelled: ${pending.line}`,
      detail: `dropped ${pending.line} (code ${pending.code}); nothing was done`,
      outcome: 'cancelled',
      about: { ...(pending.host ? { host: pending.host } : {}), ...(pending.vm ? { vm: pending.vm } : {}) },
    };
  },
});

const approve = defineCommand({
  path: ['approve'],
  summary:
    "approve someone else's command that a rule puts under approval (you need an approver role and must not be the one who asked)",
  args: { code: code() },
  // Who may approve is decided by the desk: approver roles, identified, not the requester, same place.
  open: true,
  examples: [{ input: 'approve ABCDEF', reply: 'no pending command has code ABCDEF' }],
  async run({ args, ctx }) {
    const pending = await ctx.confirmations.approve(args.code);
    const requester = pending.who.user ?? pending.who.nick;
    const still = pendingApprovals(pending);
    const p = ctx.replyPrefix;
    const next =
      still.length > 0
        ? `it still needs approval by a holder of role ${still.map((n) => n.approvers.join(' or ')).join(', and ')}`
        : `${requester} may now type '${p}confirm ${pending.code}' within ${ctx.confirmations.timeoutSeconds} s`;
    return {
      reply: `approved ${pending.line} (code ${pending.code}) for ${requester}: ${next}`,
      outcome: 'approved',
      about: { ...(pending.host ? { host: pending.host } : {}), ...(pending.vm ? { vm: pending.vm } : {}) },
    };
  },
});

const deny = defineCommand({
  path: ['deny'],
  summary: "refuse someone else's command that waits for your approval: it is dropped",
  args: { code: code() },
  open: true,
  examples: [{ input: 'deny ABCDEF', reply: 'no pending command has code ABCDEF' }],
  async run({ args, ctx }) {
    const pending = await ctx.confirmations.deny(args.code);
    return {
      reply: `denied ${pending.line} (code ${pending.code}) of ${pending.who.user ?? pending.who.nick}: it will not run`,
      outcome: 'denied',
      about: { ...(pending.host ? { host: pending.host } : {}), ...(pending.vm ? { vm: pending.vm } : {}) },
    };
  },
});

const single = (command: ReturnType<typeof defineCommand>, summary: string): CommandGroup => ({
  name: command.path[0]!,
  summary,
  commands: [command],
});

export const confirmGroups: CommandGroup[] = [
  single(confirm, 'go ahead with a destructive command'),
  single(cancel, 'drop a pending destructive command'),
  single(approve, "approve someone else's command that a rule puts under approval"),
  single(deny, "refuse someone else's command that waits for approval"),
];
