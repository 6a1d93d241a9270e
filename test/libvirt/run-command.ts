/**
 * Runs a chat command line the way the pipeline does (tokenize, resolve, parse, run), against a
 * real HostRegistry, without permissions or confirmations: enough to test the commands.
 */
import { parseArgs } from '../../src/command/parse-args.js';
import { CommandRegistry } from '../../src/command/registry.js';
import type { CommandContext, CommandGroup, CommandResult } from '../../src/command/spec.js';
import { tokenize } from '../../src/grammar/tokenize.js';
import type { HostRegistry } from '../../src/libvirt/hosts.js';

export function makeRunner(hosts: HostRegistry, groups: CommandGroup[]) {
  const commands = new CommandRegistry(groups);
  const ctx: CommandContext = {
    identity: { user: 'tester', groups: [], roles: [], proof: 'local', nick: 'tester' },
    hosts,
    commands,
    audit: { query: async () => [] },
    placeKey: 'test',
    place: { transport: 'test', network: '', channel: '#test', private: false },
    services: {},
    now: () => new Date(),
  };
  return async (line: string): Promise<CommandResult> => {
    const tokens = tokenize(line);
    const { spec, consumed } = commands.resolve(tokens);
    const args = parseArgs(spec, tokens.slice(consumed), { hostNames: hosts.names(), now: () => new Date() });
    return spec.run(ctx, args);
  };
}
