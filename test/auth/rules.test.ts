import { describe, expect, it } from 'vitest';
import { type AuthorizationRequest, RoleAuthorizer } from '../../src/auth/authorizer.js';
import { identityOfUser, resolveIdentity } from '../../src/auth/identity.js';
import type { CommandSpec } from '../../src/command/spec.js';
import { ConfigError, parseConfigText, validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Identity, Place } from '../../src/core/types.js';

const channel = (name: string): Place => ({
  transport: 'irc',
  network: 'libera',
  channel: name,
  private: false,
});
const privately: Place = { transport: 'irc', network: 'libera', channel: 'alice', private: true };

const vmSpec = (path: string, extra: Partial<CommandSpec> = {}): CommandSpec => ({
  path: path.split('.'),
  summary: path,
  args: [
    { name: 'vm', type: 'vm', positional: true, required: true, help: '' },
    { name: 'memory', type: 'size', help: '' },
    { name: 'vcpus', type: 'int', help: '' },
    { name: 'network', type: 'network', help: '' },
    { name: 'users', type: 'names', help: '' },
    { name: 'force', type: 'bool', help: '' },
  ],
  target: { vm: 'vm', host: 'host' },
  examples: [],
  run: async () => ({ reply: '' }),
  ...extra,
});

const config = (extra: Partial<ConfigInput>) =>
  validateConfig({
    hosts: [{ name: 'test', uri: 'test:///default' }],
    users: {
      alice: { roles: ['ops'] },
      bob: { roles: ['prod-admin', 'ops'] },
      carol: { roles: ['admin'] },
      nobody: {},
    },
    roles: {
      ops: { permissions: ['vm.*', 'meeting.*', '!vm.console'] },
      'prod-admin': { permissions: ['help'] },
      admin: { permissions: ['*'] },
    },
    ...extra,
  });

function ask(
  c: ReturnType<typeof config>,
  user: string,
  permission: string,
  extra: Partial<AuthorizationRequest> = {},
) {
  const identity = identityOfUser(c, user)!;
  return new RoleAuthorizer(c).authorize({
    identity,
    permission,
    spec: vmSpec(permission),
    place: channel('#ops'),
    ...extra,
  });
}

describe('role globs (no rules)', () => {
  const c = config({});
  it('grants by glob and denies what no role grants', async () => {
    expect(await ask(c, 'alice', 'vm.start')).toMatchObject({ allowed: true, rule: 'role ops: vm.*' });
    expect(await ask(c, 'alice', 'host.users.list')).toMatchObject({
      allowed: false,
      rule: 'default deny',
      reason: 'no role of alice grants host.users.list',
    });
    expect(await ask(c, 'nobody', 'help')).toMatchObject({ allowed: false });
  });
  it('lets a more specific ! glob deny', async () => {
    expect(await ask(c, 'alice', 'vm.console')).toMatchObject({
      allowed: false,
      rule: 'role ops: !vm.console',
    });
  });
});

describe('rules', () => {
  const c = config({
    rules: [
      { name: 'prod', permission: 'vm.*', host: 'prod-*', effect: 'require-role', roles: ['prod-admin'] },
      { name: 'delete', permission: 'vm.delete', effect: 'require-role', roles: ['admin'] },
      {
        name: 'prod-delete',
        permission: 'vm.delete',
        host: 'prod-*',
        effect: 'deny',
        reason: 'never on prod',
      },
      { name: 'console-private', permission: 'vm.console', notChannels: ['private'], effect: 'deny' },
      {
        name: 'console',
        permission: 'vm.console',
        channels: ['private'],
        effect: 'require-role',
        roles: ['ops'],
      },
      { name: 'big', permission: 'vm.create', args: { memory: '>16G' }, effect: 'require-approval' },
      {
        name: 'prod-net',
        permission: 'vm.nic.*',
        args: { network: 'prod-*' },
        effect: 'require-role',
        roles: ['prod-admin'],
      },
      { name: 'lab', permission: 'vm.*', vm: 'lab-*', channels: ['#lab', '#lab-*'], effect: 'allow' },
      { name: 'no-vm-in-general', permission: 'vm.*', channels: ['#general'], effect: 'deny' },
    ],
  });

  it('needs the role a host rule names, whatever the role globs say', async () => {
    const denied = await ask(c, 'alice', 'vm.start', { host: 'prod-1', vm: 'web01' });
    expect(denied.allowed).toBe(false);
    expect(denied.reason).toBe(
      'rule prod (vm.* on host prod-*): vm.start needs role prod-admin, which alice does not hold',
    );
    expect(await ask(c, 'bob', 'vm.start', { host: 'prod-1', vm: 'web01' })).toMatchObject({
      allowed: true,
      rule: 'rule prod (vm.* on host prod-*)',
    });
    // Off prod, no rule matches and the roles decide.
    expect(await ask(c, 'alice', 'vm.start', { host: 'test', vm: 'web01' })).toMatchObject({
      allowed: true,
      rule: 'role ops: vm.*',
    });
  });

  it('lets the most specific rule win: two conditions beat one, longer literals beat shorter', async () => {
    // vm.delete anywhere: 'delete' (1 condition) needs admin; alice has vm.* by role but not admin.
    expect(await ask(c, 'alice', 'vm.delete', { host: 'test' })).toMatchObject({
      allowed: false,
      rule: 'rule delete (vm.delete)',
    });
    expect(await ask(c, 'carol', 'vm.delete', { host: 'test' })).toMatchObject({ allowed: true });
    // On prod, 'prod-delete' (2 conditions, 14 literal chars) beats 'prod' (2 conditions, 8): deny for everyone.
    const prod = await ask(c, 'carol', 'vm.delete', { host: 'prod-1' });
    expect(prod).toMatchObject({ allowed: false, rule: 'rule prod-delete (vm.delete on host prod-*)' });
    expect(prod.reason).toContain('(never on prod)');
  });

  it('scopes by channel and private message', async () => {
    expect(await ask(c, 'alice', 'vm.console', { place: channel('#ops') })).toMatchObject({
      allowed: false,
      rule: 'rule console-private (vm.console outside private)',
    });
    expect(await ask(c, 'alice', 'vm.console', { place: privately })).toMatchObject({
      allowed: true,
      rule: 'rule console (vm.console in private)',
    });
    expect(await ask(c, 'carol', 'vm.list', { place: channel('#GENERAL') })).toMatchObject({
      allowed: false,
    });
    // A rule that applies outside some places applies when the place is unknown (fail closed).
    expect(await ask(c, 'alice', 'vm.console', { place: undefined })).toMatchObject({ allowed: false });
  });

  it('matches targets and channel lists with globs', async () => {
    expect(
      await ask(c, 'nobody', 'vm.start', { vm: 'lab-3', host: 'test', place: channel('#lab-east') }),
    ).toMatchObject({
      allowed: true,
      rule: 'rule lab (vm.* on VM lab-* in #lab, #lab-*)',
    });
    expect(
      await ask(c, 'nobody', 'vm.start', { vm: 'lab-3', host: 'test', place: channel('#ops') }),
    ).toMatchObject({
      allowed: false,
      rule: 'default deny',
    });
    // A VM condition never matches a command without a VM.
    expect(await ask(c, 'nobody', 'vm.list', { host: 'test', place: channel('#lab') })).toMatchObject({
      allowed: false,
    });
  });

  it('compares sizes and numbers, and globs names in arguments', async () => {
    const big = await ask(c, 'alice', 'vm.create', {
      host: 'test',
      args: { vm: 'x', memory: 32 * 1024 ** 2 },
    });
    expect(big).toMatchObject({ allowed: true, approval: { approvers: ['approver'] } });
    expect(big.reason).toContain('needs approval by a holder of role approver');
    const small = await ask(c, 'alice', 'vm.create', {
      host: 'test',
      args: { vm: 'x', memory: 16 * 1024 ** 2 },
    });
    expect(small).toMatchObject({ allowed: true, rule: 'role ops: vm.*' });
    expect(small.approval).toBeUndefined();
    // Missing argument: the condition does not hold, the rule does not match.
    expect(
      (await ask(c, 'alice', 'vm.create', { host: 'test', args: { vm: 'x' } })).approval,
    ).toBeUndefined();
    expect(
      await ask(c, 'alice', 'vm.nic.add', { host: 'test', args: { vm: 'x', network: 'PROD-db' } }),
    ).toMatchObject({
      allowed: false,
      rule: 'rule prod-net (vm.nic.* with network=prod-*)',
    });
    expect(
      await ask(c, 'bob', 'vm.nic.add', { host: 'test', args: { vm: 'x', network: 'prod-db' } }),
    ).toMatchObject({
      allowed: true,
    });
  });

  it('requires approval on top of the roles: without a grant it is still no', async () => {
    const decision = await ask(c, 'nobody', 'vm.create', {
      host: 'test',
      args: { vm: 'x', memory: 64 * 1024 ** 2 },
    });
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toBe(
      'no role of nobody grants vm.create; besides, rule big (vm.create with memory>16G): vm.create needs approval by a holder of role approver',
    );
  });

  it('matches list arguments when one name matches, and booleans exactly', async () => {
    const c2 = config({
      rules: [
        { permission: 'vm.users.*', args: { users: 'root' }, effect: 'deny' },
        { permission: 'vm.stop', args: { force: true }, effect: 'require-role', roles: ['admin'] },
        { permission: 'vm.setvcpus', args: { vcpus: '>=8' }, effect: 'deny' },
      ],
    });
    expect(
      await ask(c2, 'alice', 'vm.users.add', { args: { vm: 'x', users: ['ann', 'ROOT'] } }),
    ).toMatchObject({
      allowed: false,
      rule: 'rule #1 (vm.users.* with users=root)',
    });
    expect(await ask(c2, 'alice', 'vm.users.add', { args: { vm: 'x', users: ['ann'] } })).toMatchObject({
      allowed: true,
    });
    expect(await ask(c2, 'alice', 'vm.stop', { args: { vm: 'x', force: true } })).toMatchObject({
      allowed: false,
    });
    expect(await ask(c2, 'alice', 'vm.stop', { args: { vm: 'x', force: false } })).toMatchObject({
      allowed: true,
    });
    expect(await ask(c2, 'alice', 'vm.setvcpus', { args: { vm: 'x', vcpus: 8 } })).toMatchObject({
      allowed: false,
    });
    expect(await ask(c2, 'alice', 'vm.setvcpus', { args: { vm: 'x', vcpus: 7 } })).toMatchObject({
      allowed: true,
    });
  });

  it('prefers the more restrictive effect on an exact tie', async () => {
    const c3 = config({
      rules: [
        { name: 'a', permission: 'vm.start', effect: 'allow' },
        { name: 'b', permission: 'vm.start', effect: 'deny' },
      ],
    });
    expect(await ask(c3, 'carol', 'vm.start')).toMatchObject({ allowed: false, rule: 'rule b (vm.start)' });
  });
});

describe('rules in the YAML config', () => {
  it('load from YAML', () => {
    const c = parseConfigText(
      [
        'hosts: [{ name: test, uri: "test:///default" }]',
        'rules:',
        '  - name: prod',
        '    permission: "vm.*"',
        '    host: "prod-*"',
        '    effect: require-role',
        '    roles: [prod-admin]',
        '  - permission: vm.create',
        '    args: { memory: ">16G" }',
        '    effect: require-approval',
        '    approvers: [lead]',
        'rateLimits:',
        '  perIdentity: { count: 5, seconds: 10 }',
        '  exemptRoles: [admin]',
      ].join('\n'),
      'virtbot.yaml',
    );
    expect(c.rules).toHaveLength(2);
    expect(c.rules[1]).toMatchObject({ effect: 'require-approval', approvers: ['lead'] });
    expect(c.rateLimits).toEqual({ perIdentity: { count: 5, seconds: 10 }, exemptRoles: ['admin'] });
  });

  it.each([
    ['    effect: maybe', /virtbot\.yaml:4: rules\.0\.effect: /],
    ['    effect: require-role', /virtbot\.yaml:3: rules\.0\.roles: effect 'require-role' needs 'roles'/],
    ['    effect: deny\n    hots: "prod-*"', /virtbot\.yaml:3: rules\.0: unknown setting 'hots'/],
    [
      '    effect: deny\n    args: { memory: ">" }',
      /virtbot\.yaml:5: rules\.0\.args\.memory: a comparison needs a number/,
    ],
  ])('reports a bad rule with file and line: %s', (tail, expected) => {
    const text = `hosts: [{ name: test, uri: "test:///default" }]\nrules:\n  - permission: "vm.*"\n${tail}\n`;
    expect(() => parseConfigText(text, 'virtbot.yaml')).toThrow(ConfigError);
    expect(() => parseConfigText(text, 'virtbot.yaml')).toThrow(expected);
  });
});

describe('identity', () => {
  const c = config({
    users: {
      alice: { irc: { libera: 'AliceAcct' }, discord: ['123456789012'], roles: ['ops'] },
      mask: { hostmasks: { libera: ['*!*@trusted.example'] }, allowHostmasks: true, roles: ['ops'] },
      nomask: { hostmasks: { libera: ['*!*@other.example'] }, roles: ['ops'] },
    },
    discordRoles: { guild: { '555555': ['ops'] } },
  });
  const who = (place: Place, sender: Parameters<typeof resolveIdentity>[2]): Identity =>
    resolveIdentity(c, place, sender);

  it('comes from the services account, never the nick', () => {
    expect(who(channel('#ops'), { nick: 'mallory', account: 'aliceacct' })).toMatchObject({
      user: 'alice',
      proof: 'irc-account',
    });
    expect(who(channel('#ops'), { nick: 'alice' })).toMatchObject({ user: null, proof: 'anonymous' });
    // The account of another network proves nothing here.
    expect(
      who({ ...channel('#ops'), network: 'oftc' }, { nick: 'alice', account: 'AliceAcct' }).user,
    ).toBeNull();
    // A Discord id is no proof on IRC, nor an IRC account on Discord.
    expect(who(channel('#ops'), { nick: 'x', userId: '123456789012' }).user).toBeNull();
    const discord: Place = { transport: 'discord', network: 'guild', channel: '#ops', private: false };
    expect(who(discord, { nick: 'x', userId: '123456789012' })).toMatchObject({
      user: 'alice',
      proof: 'discord-id',
    });
    expect(who(discord, { nick: 'x', account: 'AliceAcct' }).user).toBeNull();
  });

  it('honours hostmasks only where the user allows them', () => {
    expect(who(channel('#ops'), { nick: 'm', hostmask: 'm!u@trusted.example' })).toMatchObject({
      user: 'mask',
      proof: 'hostmask',
    });
    expect(who(channel('#ops'), { nick: 'm', hostmask: 'm!u@other.example' }).user).toBeNull();
  });

  it('maps Discord roles only on their server, and ignores prototype keys', () => {
    const discord: Place = { transport: 'discord', network: 'guild', channel: '#ops', private: false };
    const alice = { nick: 'x', userId: '123456789012' };
    const c2 = { ...c, users: { ...c.users, alice: { ...c.users['alice']!, roles: [] } } };
    expect(resolveIdentity(c2, discord, { ...alice, roleIds: ['555555'] }).roles).toEqual(['ops']);
    expect(
      resolveIdentity(c2, discord, { ...alice, roleIds: ['constructor', '__proto__', 'toString'] }).roles,
    ).toEqual([]);
    expect(
      resolveIdentity(c2, { ...discord, network: 'constructor' }, { ...alice, roleIds: ['555555'] }).roles,
    ).toEqual([]);
    // Discord roles never make an unknown Discord user someone.
    expect(who(discord, { nick: 'x', userId: '999999999', roleIds: ['555555'] })).toMatchObject({
      user: null,
      roles: [],
    });
    expect(
      who({ ...channel('#ops'), transport: 'console' }, { nick: 'constructor', local: true }).user,
    ).toBeNull();
    expect(
      who({ ...channel('#ops'), transport: 'console' }, { nick: '__proto__', local: true }).user,
    ).toBeNull();
  });
});
