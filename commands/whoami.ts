import type { CommandGroup } from '../src/command/spec.js';
import type { Config } from '../src/config/schema.js';

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
    {
      path: ['whoami'],
      summary: 'show the identity virtbot resolved for you, how it was proven, and your groups and roles',
      args: [],
      open: true,
      examples: [
        {
          input: 'whoami',
          reply: 'you are not identified',
          note: 'the demo has no users: everyone is anonymous',
        },
        { input: 'whoami', reply: 'roles: demo' },
      ],
      async run(ctx) {
        const { identity } = ctx;
        const config = ctx.services['config'] as Config | undefined;
        const roles = identity.roles.length > 0 ? identity.roles.join(', ') : 'none';
        const lines = identity.roles.map((role) => {
          const entry = config?.roles[role];
          return `role ${role}: ${entry ? entry.permissions.join(' ') : '(not defined: grants nothing)'}`;
        });
        if (identity.user === null) {
          return {
            reply: `you are not identified (nick ${identity.nick}: no services account, Discord id or allowed hostmask of a configured user) — roles: ${roles}`,
            lines,
          };
        }
        const parts = [
          `you are ${identity.user}, proven by ${PROOFS[identity.proof] ?? identity.proof}`,
          `groups: ${identity.groups.length > 0 ? identity.groups.join(', ') : 'none'}`,
          `roles: ${roles}`,
        ];
        if (identity.systemAccount !== undefined) parts.push(`system account: ${identity.systemAccount}`);
        return { reply: parts.join(' — '), lines };
      },
    },
  ],
};
