import type { CommandGroup } from '../src/command/spec.js';
import { defineCommand } from '../src/pipeline/define.js';

const PROOFS: Record<string, string> = {
  'irc-account': 'your IRC services account',
  'discord-id': 'your Discord user id',
  hostmask: 'your hostmask (allowed for you in the config)',
  local: 'the local console',
};

export const group: CommandGroup = {
  name: 'whoami',
  summary: 'who virtbot thinks you are',
  commands: [
    defineCommand({
      path: ['whoami'],
      summary: 'show the identity virtbot resolved for you, how it was proven, and your groups and roles',
      args: {},
      open: true,
      examples: [
        {
          input: 'whoami',
          reply: 'you are not identified',
          note: 'the demo has no users: everyone is anonymous',
        },
        { input: 'whoami', reply: 'roles: demo' },
        { input: 'whoami', as: 'admin', reply: 'you are admin, proven by the local console' },
      ],
      async run({ ctx }) {
        const { identity, sender } = ctx;
        const roles = identity.roles.length > 0 ? identity.roles.join(', ') : 'none';
        const lines = identity.roles.map((role) => {
          const entry = ctx.access.roles[role];
          return `role ${role}: ${entry ? entry.permissions.join(' ') : '(not defined: grants nothing)'}`;
        });
        if (identity.user === null) {
          // Say what the transport proved, so an admin can map it: an account or id nobody is configured with.
          const proven = sender.account
            ? `IRC services account ${sender.account}, which no configured user has`
            : sender.userId
              ? `Discord user id ${sender.userId}, which no configured user has`
              : 'no services account, Discord id or allowed hostmask of a configured user';
          return {
            reply: `you are not identified (nick ${identity.nick}: ${proven}) — roles: ${roles}`,
            lines,
          };
        }
        const parts = [
          `you are ${identity.user}, proven by ${PROOFS[identity.proof] ?? identity.proof}${sender.userId ? ` (id ${sender.userId})` : ''}`,
          `groups: ${identity.groups.length > 0 ? identity.groups.join(', ') : 'none'}`,
          `roles: ${roles}`,
        ];
        if (identity.systemAccount !== undefined) parts.push(`system account: ${identity.systemAccount}`);
        return { reply: parts.join(' — '), lines };
      },
    }),
  ],
};
