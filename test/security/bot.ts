/**
 * A Bot for security tests: real pipeline, real authorizer and confirmations, a probe command
 * group whose bodies only record that they ran, and an audit log in a temporary directory.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { allGroups } from '../../commands/index.js';
import { RoleAuthorizer } from '../../src/auth/authorizer.js';
import type { VmAccessLookup } from '../../src/auth/vm-access.js';
import { Bot } from '../../src/bot.js';
import type { ArgSpec, Args, CommandGroup, CommandSpec } from '../../src/command/spec.js';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { AuditRecord, InboundMessage, Place, Reply, Sender } from '../../src/core/types.js';
import type { HostRegistry } from '../../src/libvirt/hosts.js';

export interface Run {
  path: string;
  args: Args;
  user: string | null;
}

const arg = (name: string, type: ArgSpec['type'], extra: Partial<ArgSpec> = {}): ArgSpec => ({
  name,
  type,
  help: name,
  ...extra,
});

/** Commands shaped like the real ones (VM targets, destructive ones, every risky argument type). */
export function probeGroup(runs: Run[]): CommandGroup {
  const spec = (path: string[], args: ArgSpec[], extra: Partial<CommandSpec> = {}): CommandSpec => ({
    path,
    summary: path.join(' '),
    args,
    examples: [],
    async run(ctx, parsed) {
      runs.push({ path: path.join('.'), args: parsed, user: ctx.identity.user });
      return { reply: `ran ${path.join(' ')}` };
    },
    ...extra,
  });
  const vm = arg('vm', 'vm', { positional: true, required: true });
  const host = arg('host', 'host');
  return {
    name: 'probe',
    summary: 'probes',
    commands: [
      spec(['probe', 'info'], [vm, host], { target: { vm: 'vm', host: 'host' } }),
      spec(['probe', 'start'], [vm, host], { target: { vm: 'vm', host: 'host' } }),
      spec(['probe', 'delete'], [vm, host], { target: { vm: 'vm', host: 'host' }, destructive: true }),
      spec(
        ['probe', 'users', 'add'],
        [vm, arg('users', 'names', { positional: true, required: true }), host],
        {
          target: { vm: 'vm', host: 'host' },
        },
      ),
      spec(
        ['probe', 'create'],
        [
          vm,
          arg('memory', 'size'),
          arg('vcpus', 'int', { min: 1, max: 64 }),
          arg('network', 'network'),
          host,
        ],
        { target: { vm: 'vm', host: 'host' } },
      ),
      spec(
        ['probe', 'nic'],
        [vm, arg('mac', 'mac'), arg('network', 'network'), arg('bridge', 'bridge'), host],
        {
          target: { vm: 'vm', host: 'host' },
        },
      ),
      spec(['probe', 'disk'], [vm, arg('path', 'path'), arg('pool', 'pool'), arg('size', 'size'), host], {
        target: { vm: 'vm', host: 'host' },
      }),
      spec(['probe', 'net'], [arg('network', 'network', { positional: true, required: true }), host], {
        target: { host: 'host' },
      }),
      spec(['probe', 'account'], [arg('user', 'name', { positional: true, required: true }), host], {
        target: { host: 'host' },
      }),
      spec(['probe', 'note'], [arg('text', 'text', { positional: true, required: true })]),
      spec(['probe', 'when'], [arg('since', 'time'), arg('force', 'bool'), arg('code', 'code')]),
    ],
  };
}

/** A host registry without hypervisors: names only. */
export const fakeHosts = (names = ['test', 'prod-1']) =>
  ({
    names: () => names,
    defaultHost: () => names[0]!,
    close: async () => {},
  }) as unknown as HostRegistry;

export interface TestBot {
  bot: Bot;
  runs: Run[];
  dir: string;
  clock: { now: Date };
  say(
    nick: string,
    text: string,
    options?: { channel?: string; sender?: Partial<Sender>; place?: Partial<Place> },
  ): Promise<Reply[]>;
  text(
    nick: string,
    line: string,
    options?: { channel?: string; sender?: Partial<Sender>; place?: Partial<Place> },
  ): Promise<string>;
  records(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export const baseConfig: ConfigInput = {
  hosts: [
    { name: 'test', uri: 'test:///default' },
    { name: 'prod-1', uri: 'test:///default' },
  ],
  users: {
    alice: { roles: ['ops'], system: 'alice' },
    bob: { roles: ['viewer'], system: 'bob' },
    carol: { roles: ['ops', 'approver'] },
    dave: { roles: ['admin'] },
    erin: { system: 'erin' },
    frank: {},
  },
  groups: { devs: { members: ['frank'], system: 'developers' } },
  roles: {
    ops: { permissions: ['probe.*', 'whoami', 'history'] },
    viewer: { permissions: ['probe.info', 'help'] },
    admin: { permissions: ['*'] },
    approver: { permissions: ['help'] },
  },
  confirm: { timeoutSeconds: 60 },
  // The probes stand in for the vm commands.
  vmAccess: { enabled: true, permissions: ['probe.*', '!probe.users.*'] },
};

export async function makeTestBot(
  options: { config?: Partial<ConfigInput>; vmAccess?: VmAccessLookup; groups?: CommandGroup[] } = {},
): Promise<TestBot> {
  const dir = await mkdtemp(join(tmpdir(), 'virtbot-security-'));
  const runs: Run[] = [];
  const clock = { now: new Date('2026-11-25T10:00:00Z') };
  const config = validateConfig({ ...baseConfig, ...options.config, bot: { dataDir: dir } });
  const authorizer = new RoleAuthorizer(config, options.vmAccess ? { vmAccess: options.vmAccess } : {});
  const bot = new Bot({
    config,
    hosts: fakeHosts(),
    groups: options.groups ?? [...allGroups().filter((g) => g.name !== 'vm'), probeGroup(runs)],
    logger: pino({ level: 'silent' }),
    authorizer,
    now: () => clock.now,
  });
  const message = (
    nick: string,
    text: string,
    o: { channel?: string; sender?: Partial<Sender>; place?: Partial<Place> } = {},
  ): InboundMessage => ({
    place: { transport: 'console', network: '', channel: o.channel ?? '#ops', private: false, ...o.place },
    sender: { nick, local: true, ...o.sender },
    text,
    time: clock.now,
    addressed: true,
  });
  const say: TestBot['say'] = (nick, text, o) => bot.handle(message(nick, text, o));
  return {
    bot,
    runs,
    dir,
    clock,
    say,
    text: async (nick, line, o) => (await say(nick, line, o)).map((r) => r.text).join('\n'),
    async records() {
      let text: string;
      try {
        text = await readFile(join(dir, 'audit.jsonl'), 'utf8');
      } catch {
        return [];
      }
      return text
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as AuditRecord);
    },
    async close() {
      await bot.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
