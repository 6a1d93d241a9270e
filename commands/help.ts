import { CommandError, type CommandGroup } from '../src/command/spec.js';
import { commandHelp, listing } from '../src/command/usage.js';
import { showToken } from '../src/grammar/show.js';
import { closest } from '../src/grammar/suggest.js';
import { meetingHelpLine } from '../src/meeting/commands.js';
import { arg, defineCommand } from '../src/pipeline/define.js';

export const group: CommandGroup = {
  name: 'help',
  summary: 'how to use virtbot',
  commands: [
    defineCommand({
      path: ['help'],
      summary: 'list the commands, or explain one: help vm, help vm nic add',
      args: { topic: arg.text('a command or group, e.g. vm nic add').positional() },
      open: true,
      examples: [
        { input: 'help', reply: 'commands:' },
        { input: 'help vm info', reply: 'usage: vm info VM' },
        { input: 'help vn', reply: "did you mean 'vm'" },
      ],
      async run({ args, ctx }) {
        const registry = ctx.registry;
        const topic =
          args.topic
            ?.trim()
            .split(/\s+/)
            .filter((w) => w !== '') ?? [];
        if (topic.length === 0) {
          const groups = registry.allGroups().map((g) => g.name);
          return {
            reply: `commands: ${groups.join(', ')} — 'help GROUP' or 'help COMMAND' for details; ${meetingHelpLine(ctx.place)}`,
          };
        }
        const path = registry.canonicalPrefix(topic);
        const exact = registry.get(path.join(' '));
        if (exact) {
          const [first, ...rest] = commandHelp(exact, exact.permission);
          return { reply: first!, lines: rest };
        }
        const below = registry.under(path);
        if (below.length > 0) {
          const [first, ...rest] = listing(below);
          return { reply: first!, lines: rest };
        }
        if (registry.group(path[0]!)) {
          throw new CommandError(
            `no command ${showToken(topic.join(' '))} (try 'help ${path[0]}')`,
            'invalid',
          );
        }
        const guess = closest(
          topic[0]!,
          registry.allGroups().map((g) => g.name),
        );
        throw new CommandError(
          `no command ${showToken(topic.join(' '))}${guess ? ` — did you mean '${guess}'?` : ''} (try 'help')`,
          'invalid',
        );
      },
    }),
  ],
};
