import { type Authorizer, ruleLabel } from '../src/auth/authorizer.js';
import { identityOfUser } from '../src/auth/identity.js';
import { parseArgs, UsageError } from '../src/command/parse-args.js';
import { ResolveError } from '../src/command/registry.js';
import { CommandError, type CommandGroup, permissionOf } from '../src/command/spec.js';
import type { Config } from '../src/config/schema.js';
import type { Place } from '../src/core/types.js';
import { TokenizeError, tokenize } from '../src/grammar/tokenize.js';

function service<T>(services: Record<string, unknown>, name: string): T {
  const found = services[name];
  if (found === undefined) throw new CommandError(`permissions are not available here (no ${name})`);
  return found as T;
}

/** Where to judge: `in=private`, `in=#chan`, or the conversation the question was asked in. */
function placeFor(where: string | undefined, here: Place): Place {
  if (where === undefined) return here;
  if (where.toLowerCase() === 'private') return { ...here, channel: '', private: true };
  if (!/^[#&+!][^\s,\x07\x00-\x1f]{1,199}$/.test(where)) {
    throw new CommandError(
      `'${where.slice(0, 60)}' is not a channel: use in=#channel or in=private`,
      'invalid',
    );
  }
  return { ...here, channel: where, private: false };
}

export const group: CommandGroup = {
  name: 'permissions',
  summary: 'explain who may do what',
  commands: [
    {
      path: ['permissions', 'check'],
      summary:
        'say whether USER may run COMMAND, and which rule or role decides (quote COMMAND if it has key=value options)',
      args: [
        {
          name: 'user',
          type: 'name',
          positional: true,
          required: true,
          help: "a configured user, or 'anonymous'",
        },
        {
          name: 'command',
          type: 'text',
          positional: true,
          required: true,
          help: 'the command line to judge',
        },
        { name: 'in', type: 'text', help: "judge it as said in this channel, or 'private' (default: here)" },
      ],
      examples: [
        {
          input: 'permissions check anonymous help',
          reply: 'anonymous may run help: help is open to everyone',
        },
        { input: 'permissions check anonymous vm list', reply: 'role demo: * grants vm.list' },
        { input: 'permissions check bob vm list', reply: "no user 'bob' in the config" },
      ],
      async run(ctx, args) {
        const config = service<Config>(ctx.services, 'config');
        const authorizer = service<Authorizer>(ctx.services, 'authorizer');
        const name = String(args['user']);
        const identity = identityOfUser(config, name);
        if (!identity) {
          const known = Object.keys(config.users);
          throw new CommandError(
            `no user '${name}' in the config (users: ${known.length > 0 ? known.join(', ') : 'none'}; or 'anonymous')`,
            'invalid',
          );
        }
        const line = String(args['command']);
        const place = placeFor(args['in'] as string | undefined, ctx.place);
        let judged: {
          spec: import('../src/command/spec.js').CommandSpec;
          parsed: import('../src/command/spec.js').Args;
        };
        try {
          const tokens = tokenize(line);
          const { spec, consumed } = ctx.commands.resolve(tokens);
          const parsed = parseArgs(spec, tokens.slice(consumed), {
            hostNames: ctx.hosts.names(),
            now: ctx.now,
          });
          judged = { spec, parsed };
        } catch (error) {
          if (error instanceof TokenizeError || error instanceof ResolveError || error instanceof UsageError)
            throw new CommandError(`cannot judge '${line.slice(0, 80)}': ${error.message}`, 'invalid');
          throw error;
        }
        const { spec, parsed } = judged;
        const path = spec.path.join(' ');
        if (spec.open) return { reply: `${name} may run ${path}: ${path} is open to everyone` };
        const vm = spec.target?.vm ? parsed[spec.target.vm] : undefined;
        const named = spec.target?.host ? parsed[spec.target.host] : undefined;
        const host =
          typeof named === 'string'
            ? named
            : spec.target?.host !== undefined || typeof vm === 'string'
              ? ctx.hosts.defaultHost()
              : undefined;
        const decision = await authorizer.authorize({
          identity,
          permission: permissionOf(spec),
          spec,
          args: parsed,
          place,
          ...(host !== undefined ? { host } : {}),
          ...(typeof vm === 'string' ? { vm } : {}),
        });
        const where = place.private ? 'in private' : `in ${place.channel || 'this conversation'}`;
        if (!decision.allowed) return { reply: `${name} may not run ${path} ${where}: ${decision.reason}` };
        const steps: string[] = [];
        if (decision.approval)
          steps.push(`then needs approval by a holder of role ${decision.approval.approvers.join(' or ')}`);
        if (spec.destructive || decision.approval) steps.push(`then 'confirm CODE' by ${name}`);
        return {
          reply: `${name} may run ${path} ${where}: ${decision.reason}${steps.length > 0 ? ` (${steps.join(', ')})` : ''}`,
        };
      },
    },
    {
      path: ['permissions', 'rules'],
      summary: 'list the rules of the config, in order, with their effects',
      args: [],
      examples: [{ input: 'permissions rules', reply: 'no rules: roles alone decide' }],
      async run(ctx) {
        const config = service<Config>(ctx.services, 'config');
        if (config.rules.length === 0)
          return { reply: 'no rules: roles alone decide (and without a role: no)' };
        const lines = config.rules.map((rule, index) => {
          const roles = rule.roles ? ` ${rule.roles.join('|')}` : '';
          const approvers =
            rule.effect === 'require-approval' ? ` by ${(rule.approvers ?? ['approver']).join('|')}` : '';
          return `${ruleLabel(rule, index)}: ${rule.effect}${roles}${approvers}${rule.reason ? ` — ${rule.reason}` : ''}`;
        });
        return {
          reply: `${config.rules.length} rules; the most specific matching one decides, else roles, else no`,
          lines,
        };
      },
    },
  ],
};
