/**
 * A Bot for the security and auth suites: the real pipeline (identify, parse, resolve, bind,
 * target, the judge, confirmations, execute, record) on two real hosts of libvirt's test driver,
 * with probe commands declared with the definers whose bodies only record what they were given
 * (arguments, and the host and VM the pipeline bound them to), and an audit log in a temporary
 * directory.
 *
 *   test    test/fixtures/libvirt/security-test.xml: web01 (running), web02 (shut off), twin
 *   prod-1  test/fixtures/libvirt/security-prod.xml: db01 (running), twin
 *
 * VMs are really located: `probe info web01` is bound to `test`, `probe info db01` to `prod-1`,
 * `probe info twin` asks for host=. The hosts' account lists (for `vm users add`) are fixed
 * here, so the suites do not depend on the accounts of the machine they run on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { allGroups } from '../../commands/index.js';
import type { AuditLog } from '../../src/audit/log.js';
import { readRecords } from '../../src/audit/log.js';
import { Bot } from '../../src/bot.js';
import type { Args, CommandGroup, CommandResult } from '../../src/command/spec.js';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { HostConfig } from '../../src/config/sections/hosts.js';
import type { AuditRecord, InboundMessage, Place, Reply, Sender } from '../../src/core/types.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import type { CommandContext } from '../../src/pipeline/context.js';
import {
  arg,
  defineCommand,
  defineFleetCommand,
  defineHostCommand,
  defineNewVmCommand,
  defineVmCommand,
} from '../../src/pipeline/define.js';
import { type Accounts, RecordingBackend } from '../harness/recording-backend.js';

export const SECURITY_TEST_NODE = resolve('test/fixtures/libvirt/security-test.xml');
export const SECURITY_PROD_NODE = resolve('test/fixtures/libvirt/security-prod.xml');

/** What a probe body was given. */
export interface Run {
  path: string;
  args: Args;
  user: string | null;
  /** The host the pipeline bound the invocation to (host and VM commands). */
  host?: string;
  /** The VM the pipeline bound it to (VM commands). */
  vm?: string;
  /** The hosts of a fan-out, after the judge left out those the asker may not act on. */
  hosts?: string[];
}

/** The fields of a command context a probe reads, whatever its target kind. */
type AnyContext = CommandContext & {
  host?: string;
  vm?: string;
  hosts?: { name: string }[];
  withheld?: { name: string }[];
};

function recorder(runs: Run[], path: string[]) {
  return async ({ args, ctx }: { args: object; ctx: AnyContext }): Promise<CommandResult> => {
    const run: Run = { path: path.join('.'), args: { ...(args as Args) }, user: ctx.identity.user };
    if (ctx.host !== undefined) run.host = ctx.host;
    if (ctx.vm !== undefined) run.vm = ctx.vm;
    if (ctx.hosts !== undefined) run.hosts = ctx.hosts.map((h) => h.name);
    runs.push(run);
    const left = ctx.withheld?.length ? ` (not shown: ${ctx.withheld.map((w) => w.name).join(', ')})` : '';
    return { reply: `ran ${path.join(' ')}${left}` };
  };
}

/**
 * Commands shaped like the real ones: VM targets, a new-VM target, host targets, a fan-out, no
 * target; a destructive one; every risky argument type (names, sizes, MACs, paths, bridges, text).
 */
export function probeGroup(runs: Run[]): CommandGroup {
  const vm = () => arg.vm('the VM').positional().required();
  const host = () => arg.host('the host');
  const body = (...path: string[]) => ({
    path,
    summary: path.join(' '),
    examples: [],
    run: recorder(runs, path),
  });
  return {
    name: 'probe',
    summary: 'probes',
    commands: [
      defineVmCommand({ ...body('probe', 'info'), args: { vm: vm(), host: host() } }),
      defineVmCommand({ ...body('probe', 'start'), args: { vm: vm(), host: host() } }),
      defineVmCommand({ ...body('probe', 'delete'), args: { vm: vm(), host: host() }, destructive: true }),
      defineVmCommand({
        ...body('probe', 'users', 'add'),
        args: { vm: vm(), users: arg.names('user names').positional().required(), host: host() },
      }),
      defineNewVmCommand({
        ...body('probe', 'create'),
        args: {
          vm: vm(),
          memory: arg.size('memory'),
          vcpus: arg.int('vCPUs', { min: 1, max: 64 }),
          network: arg.network('network'),
          host: host(),
        },
      }),
      defineVmCommand({
        ...body('probe', 'nic'),
        args: {
          vm: vm(),
          mac: arg.mac('MAC'),
          network: arg.network('network'),
          bridge: arg.bridge('bridge'),
          host: host(),
        },
      }),
      defineVmCommand({
        ...body('probe', 'disk'),
        args: {
          vm: vm(),
          path: arg.path('path'),
          pool: arg.pool('pool'),
          size: arg.size('size'),
          host: host(),
        },
      }),
      defineHostCommand({
        ...body('probe', 'net'),
        args: { network: arg.network('network').positional().required(), host: host() },
      }),
      defineHostCommand({
        ...body('probe', 'account'),
        args: { user: arg.name('user').positional().required(), host: host() },
      }),
      defineFleetCommand({ ...body('probe', 'list'), args: { host: host() } }),
      defineCommand({ ...body('probe', 'note'), args: { text: arg.text('text').positional().required() } }),
      defineCommand({
        ...body('probe', 'when'),
        args: { since: arg.time('since'), force: arg.bool('force'), code: arg.code('code') },
      }),
    ],
  };
}

/** The regular accounts each test host reports, for `vm users add` / `vm groups add`. */
export const ACCOUNTS: Accounts = {
  users: ['alice', 'bob', 'erin', 'frank', 'shaohef', 'royce', 'alinefm'],
  groups: ['developers', 'kimchi', 'ops'],
};

/** Real hosts for a config: each host's own virsh on the test driver, reporting ACCOUNTS. */
export function testHosts(config: { hosts: readonly HostConfig[] }): HostRegistry {
  return new HostRegistry(config, {
    backend: (h) => new RecordingBackend({ host: h.name, uri: h.uri }, ACCOUNTS),
  });
}

/** The backend of a host of the test bot (to see what it was sent, or to make it fail). */
export function backendOf(bot: Bot, host: string): RecordingBackend {
  return bot.hosts.get(host).backend as RecordingBackend;
}

export interface SayOptions {
  channel?: string;
  sender?: Partial<Sender>;
  place?: Partial<Place>;
  /** False for a line not addressed to the bot (chatter in a channel). */
  addressed?: boolean;
}

export interface TestBot {
  bot: Bot;
  runs: Run[];
  dir: string;
  clock: { now: Date };
  say(nick: string, text: string, options?: SayOptions): Promise<Reply[]>;
  /** The replies' texts, one a line (detail lines left out). */
  text(nick: string, line: string, options?: SayOptions): Promise<string>;
  /** Says `line`; when the bot gives a confirmation code, the same person confirms it. */
  confirmed(nick: string, line: string, options?: SayOptions): Promise<string>;
  records(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

/** The suites' users, a fresh copy each time (to change one of them in a test's config). */
export function baseUsers() {
  return {
    alice: { roles: ['ops'], system: 'alice' },
    bob: { roles: ['viewer'], system: 'bob' },
    carol: { roles: ['ops', 'approver'] },
    dave: { roles: ['admin'] },
    erin: { system: 'erin' },
    frank: {},
  };
}

export const baseConfig: ConfigInput = {
  hosts: [
    { name: 'test', uri: `test://${SECURITY_TEST_NODE}`, bridges: ['br0'] },
    { name: 'prod-1', uri: `test://${SECURITY_PROD_NODE}` },
  ],
  users: baseUsers(),
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

export const START = new Date('2026-11-25T10:00:00Z');

export function message(
  clock: { now: Date },
  nick: string,
  text: string,
  o: SayOptions = {},
): InboundMessage {
  const place: Place = {
    transport: 'console',
    network: '',
    channel: o.channel ?? '#ops',
    private: false,
    ...o.place,
  };
  return {
    place,
    sender: { nick, local: true, ...o.sender },
    text,
    time: clock.now,
    addressed: o.addressed ?? true,
    // As a channel transport says it: codes are typed back with the prefix there.
    replyPrefix: place.private ? '' : '!',
  };
}

export async function makeTestBot(
  options: { config?: Partial<ConfigInput>; groups?: CommandGroup[] } = {},
): Promise<TestBot> {
  const dir = await mkdtemp(join(tmpdir(), 'virtbot-security-'));
  const runs: Run[] = [];
  const clock = { now: START };
  const config = validateConfig({ ...baseConfig, ...options.config, bot: { dataDir: dir } });
  const bot = new Bot({
    config,
    hosts: testHosts(config),
    groups: options.groups ?? [...allGroups(), probeGroup(runs)],
    logger: pino({ level: 'silent' }),
    now: () => clock.now,
  });
  const say: TestBot['say'] = (nick, text, o) => bot.handle(message(clock, nick, text, o));
  const text: TestBot['text'] = async (nick, line, o) =>
    (await say(nick, line, o)).map((r) => r.text).join('\n');
  return {
    bot,
    runs,
    dir,
    clock,
    say,
    text,
    async confirmed(nick, line, o) {
      const first = await say(nick, line, o);
      const code = first.find((r) => r.confirmCode)?.confirmCode;
      if (code === undefined) return first.map((r) => r.text).join('\n');
      return text(nick, `confirm ${code}`, o);
    },
    async records() {
      const out: AuditRecord[] = [];
      for (const file of await (bot.audit as AuditLog).files())
        for await (const r of readRecords(file)) out.push(r);
      return out;
    },
    async close() {
      await bot.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
