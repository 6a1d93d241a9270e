/**
 * The judge (src/auth/judge.ts) as the pure function it is, on resolved requests: role globs,
 * allow/deny rules by specificity, required roles and approvals that accumulate, per-VM access,
 * and confirmation. Then rule loading from YAML, and identities.
 */
import { describe, expect, it } from 'vitest';
import { identityOfUser, resolveIdentity } from '../../src/auth/identity.js';
import { type JudgedCommand, type JudgeRequest, judge, type Verdict } from '../../src/auth/judge.js';
import { argMatches, placeMatches, ruleWeight } from '../../src/auth/rules.js';
import type { VmAccessList } from '../../src/auth/vm-access.js';
import type { Args } from '../../src/command/spec.js';
import { ConfigError, parseConfigText, validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Identity, Place } from '../../src/core/types.js';

const channel = (name: string, label?: string): Place => ({
  transport: 'irc',
  network: 'libera',
  channel: name,
  private: false,
  ...(label !== undefined ? { label } : {}),
});
const privately: Place = { transport: 'irc', network: 'libera', channel: 'alice', private: true };

/** The arguments a VM command may have, with their types (rules compare sizes by type). */
const VM_ARGS: JudgedCommand['args'] = [
  { name: 'vm', type: 'vm' },
  { name: 'memory', type: 'size' },
  { name: 'vcpus', type: 'int' },
  { name: 'network', type: 'network' },
  { name: 'users', type: 'names' },
  { name: 'force', type: 'bool' },
  { name: 'path', type: 'path' },
  { name: 'bridge', type: 'bridge' },
  { name: 'host', type: 'host' },
];

const DESTRUCTIVE = new Set(['vm.delete', 'vm.stop', 'vm.nic.remove', 'vm.disk.remove']);

const base: ConfigInput = {
  hosts: [{ name: 'test', uri: 'test:///default' }],
  users: {
    alice: { roles: ['ops'] },
    bob: { roles: ['prod-admin', 'ops'] },
    carol: { roles: ['admin'] },
    dan: { roles: ['prod-admin'] },
    root: { roles: ['admin', 'prod-admin'] },
    erin: { system: 'erin' },
    frank: {},
    nobody: {},
  },
  groups: { devs: { members: ['frank'], system: 'developers' } },
  roles: {
    ops: { permissions: ['vm.*', 'meeting.*', '!vm.console'] },
    'prod-admin': { permissions: ['help'] },
    admin: { permissions: ['*'] },
  },
};

const config = (extra: Partial<ConfigInput> = {}) => validateConfig({ ...base, ...extra });

interface Ask {
  host?: string;
  vm?: string;
  args?: Args;
  place?: Place;
  vmAccess?: VmAccessList;
  command?: Partial<JudgedCommand>;
  identity?: Identity;
}

/** The judge's answer for `user` running `permission` (a VM command unless said otherwise). */
function ask(c: ReturnType<typeof config>, user: string, permission: string, o: Ask = {}): Verdict {
  const identity = o.identity ?? identityOfUser(c, user)!;
  const command: JudgedCommand = {
    permission,
    open: false,
    destructive: DESTRUCTIVE.has(permission),
    target: { kind: 'vm' },
    args: VM_ARGS,
    ...o.command,
  };
  const request: JudgeRequest = {
    identity,
    command,
    args: o.args ?? (o.vm !== undefined ? { vm: o.vm } : {}),
    place: o.place ?? channel('#ops'),
  };
  if (o.host !== undefined) request.host = o.host;
  if (o.vm !== undefined) request.vm = o.vm;
  if (o.vmAccess !== undefined) request.vmAccess = o.vmAccess;
  return judge(c, request);
}

const onTest = { host: 'test', vm: 'web01' };
const onProd = { host: 'prod-1', vm: 'web01' };

describe('role globs (no rules)', () => {
  const c = config();

  it('grants by glob and denies what no role grants', () => {
    expect(ask(c, 'alice', 'vm.start', onTest)).toMatchObject({
      allowed: true,
      basis: 'role ops: vm.*',
      reason: 'role ops: vm.* grants vm.start',
    });
    expect(ask(c, 'alice', 'host.users.list', { command: { target: { kind: 'host' } } })).toMatchObject({
      allowed: false,
      basis: 'default deny',
      reason: 'no role of alice grants host.users.list',
    });
    expect(ask(c, 'nobody', 'help', { command: { target: { kind: 'none' } } }).allowed).toBe(false);
    expect(ask(c, 'x', 'vm.info', { identity: identityOfUser(c, 'anonymous')! })).toMatchObject({
      allowed: false,
      reason: 'no role of anonymous (not identified) grants vm.info',
    });
  });

  it('lets a more specific ! glob deny, and a more specific glob allow', () => {
    expect(ask(c, 'alice', 'vm.console', onTest)).toMatchObject({
      allowed: false,
      basis: 'role ops: !vm.console',
    });
    const c2 = config({
      users: { ann: { roles: ['reader'] } },
      roles: { reader: { permissions: ['!vm.*', 'vm.info'] } },
    });
    expect(ask(c2, 'ann', 'vm.info', onTest)).toMatchObject({ allowed: true, basis: 'role reader: vm.info' });
    expect(ask(c2, 'ann', 'vm.start', onTest)).toMatchObject({ allowed: false, basis: 'role reader: !vm.*' });
  });

  it('denies when two roles tie, one granting and one refusing', () => {
    const c2 = config({
      users: { ann: { roles: ['a', 'b'] } },
      roles: { a: { permissions: ['vm.start'] }, b: { permissions: ['!vm.start'] } },
    });
    expect(ask(c2, 'ann', 'vm.start', onTest)).toMatchObject({ allowed: false, basis: 'role b: !vm.start' });
  });

  it('opens open commands to everyone, anonymous included', () => {
    const anonymous = identityOfUser(c, 'anonymous')!;
    expect(
      ask(c, 'x', 'whoami', { identity: anonymous, command: { open: true, target: { kind: 'none' } } }),
    ).toMatchObject({ allowed: true, basis: 'open command', obligations: { confirm: false, approvals: [] } });
  });

  it('asks for confirmation of destructive commands only', () => {
    expect(ask(c, 'carol', 'vm.delete', onTest).obligations).toEqual({ confirm: true, approvals: [] });
    expect(ask(c, 'carol', 'vm.info', onTest).obligations).toEqual({ confirm: false, approvals: [] });
  });
});

describe('allow and deny rules: the most specific decides', () => {
  const c = config({
    rules: [
      {
        name: 'prod-delete',
        permission: 'vm.delete',
        host: 'prod-*',
        effect: 'deny',
        reason: 'never on prod',
      },
      { name: 'delete-anywhere', permission: 'vm.delete', effect: 'allow' },
      { name: 'console-private', permission: 'vm.console', notChannels: ['private'], effect: 'deny' },
      { name: 'lab', permission: 'vm.*', vm: 'lab-*', channels: ['#lab', '#lab-*'], effect: 'allow' },
      { name: 'no-vm-in-general', permission: 'vm.*', channels: ['#general'], effect: 'deny' },
      { name: 'info-in-general', permission: 'vm.info', channels: ['#general'], effect: 'allow' },
    ],
  });

  it('lets two conditions beat one: a host deny beats a permission-only allow', () => {
    // Off prod the allow rule decides, for anyone (an allow rule grants by itself).
    expect(ask(c, 'nobody', 'vm.delete', onTest)).toMatchObject({
      allowed: true,
      basis: "rule 'delete-anywhere' (vm.delete)",
      obligations: { confirm: true, approvals: [] },
    });
    // On prod the deny is more specific: no, not even for an admin.
    const prod = ask(c, 'carol', 'vm.delete', onProd);
    expect(prod).toMatchObject({ allowed: false, basis: "rule 'prod-delete' (vm.delete on host prod-*)" });
    expect(prod.reason).toBe(
      "rule 'prod-delete' (vm.delete on host prod-*) denies vm.delete (never on prod)",
    );
  });

  it('lets a more specific allow beat a less specific deny, with longer literals deciding', () => {
    // Both have two conditions; 'vm.info' is more literal text than 'vm.*'.
    expect(ask(c, 'alice', 'vm.info', { ...onTest, place: channel('#general') })).toMatchObject({
      allowed: true,
      basis: "rule 'info-in-general' (vm.info in #general)",
    });
    expect(ask(c, 'alice', 'vm.start', { ...onTest, place: channel('#general') })).toMatchObject({
      allowed: false,
      basis: "rule 'no-vm-in-general' (vm.* in #general)",
    });
    // A deciding deny beats the roles: carol's '*' does not help in #general (channels ignore case).
    expect(
      ask(c, 'carol', 'vm.list', { place: channel('#GENERAL'), command: { target: { kind: 'hosts' } } }),
    ).toMatchObject({ allowed: false, basis: "rule 'no-vm-in-general' (vm.* in #general)" });
  });

  it('denies on an exact tie', () => {
    const c3 = config({
      rules: [
        { name: 'a', permission: 'vm.start', effect: 'allow' },
        { name: 'b', permission: 'vm.start', effect: 'deny' },
        { name: 'c', permission: 'vm.start', effect: 'allow' },
      ],
    });
    expect(ask(c3, 'carol', 'vm.start', onTest)).toMatchObject({
      allowed: false,
      basis: "rule 'b' (vm.start)",
    });
  });

  it('scopes by channel and private conversation', () => {
    expect(ask(c, 'carol', 'vm.console', { ...onTest, place: channel('#ops') })).toMatchObject({
      allowed: false,
      basis: "rule 'console-private' (vm.console outside private)",
    });
    // In private the rule does not match: carol's role decides.
    expect(ask(c, 'carol', 'vm.console', { ...onTest, place: privately })).toMatchObject({
      allowed: true,
      basis: 'role admin: *',
    });
  });

  it('matches VM globs and channel lists, and never a VM condition without a VM', () => {
    expect(
      ask(c, 'nobody', 'vm.start', { host: 'test', vm: 'lab-3', place: channel('#lab-east') }),
    ).toMatchObject({
      allowed: true,
      basis: "rule 'lab' (vm.* on VM lab-* in #lab, #lab-*)",
    });
    expect(ask(c, 'nobody', 'vm.start', { host: 'test', vm: 'lab-3', place: channel('#ops') })).toMatchObject(
      {
        allowed: false,
        basis: 'default deny',
      },
    );
    expect(
      ask(c, 'nobody', 'vm.list', { place: channel('#lab'), command: { target: { kind: 'hosts' } } }).allowed,
    ).toBe(false);
    // A private conversation with a peer named like the channel is not the channel.
    expect(
      ask(c, 'nobody', 'vm.start', { host: 'test', vm: 'lab-3', place: { ...privately, channel: '#lab' } })
        .allowed,
    ).toBe(false);
  });

  it("matches a channel by its label, as Discord's opaque channel ids are named", () => {
    const discord: Place = {
      transport: 'discord',
      network: 'team',
      channel: '1234567',
      private: false,
      label: 'lab',
    };
    expect(ask(c, 'nobody', 'vm.start', { host: 'test', vm: 'lab-3', place: discord })).toMatchObject({
      allowed: true,
      basis: "rule 'lab' (vm.* on VM lab-* in #lab, #lab-*)",
    });
    expect(placeMatches(['#lab'], channel('#lab'))).toBe(true);
    expect(placeMatches(['private'], privately)).toBe(true);
    expect(placeMatches(['private'], channel('#private'))).toBe(false);
    expect(placeMatches(['#ops'], { ...discord, label: 'ops-2' })).toBe(false);
  });
});

describe('required roles: every matching rule must be met, and none grants', () => {
  const c = config({
    rules: [
      { name: 'prod', permission: 'vm.*', host: 'prod-*', effect: 'require-role', roles: ['prod-admin'] },
      { name: 'stop', permission: 'vm.stop', effect: 'require-role', roles: ['admin'] },
      {
        name: 'prod-net',
        permission: 'vm.nic.*',
        args: { network: 'prod-*' },
        effect: 'require-role',
        roles: ['prod-admin'],
      },
    ],
  });

  it('needs the role a host rule names, whatever the role globs say', () => {
    expect(ask(c, 'alice', 'vm.start', onProd)).toMatchObject({
      allowed: false,
      basis: "rule 'prod' (vm.* on host prod-*)",
      reason: "rule 'prod' (vm.* on host prod-*): vm.start needs role prod-admin, which alice does not hold",
    });
    // carol's '*' grants, but the rule still asks for its role.
    expect(ask(c, 'carol', 'vm.start', onProd).allowed).toBe(false);
    const bob = ask(c, 'bob', 'vm.start', onProd);
    expect(bob).toMatchObject({ allowed: true, basis: 'role ops: vm.*' });
    expect(bob.reason).toBe(
      "role ops: vm.* grants vm.start; rule 'prod' (vm.* on host prod-*): bob holds role prod-admin",
    );
    // Off prod, no rule matches and the roles decide.
    expect(ask(c, 'alice', 'vm.start', onTest)).toMatchObject({ allowed: true, basis: 'role ops: vm.*' });
  });

  it('does not grant by itself: the required role without a grant is still no', () => {
    // dan holds prod-admin, whose globs grant only 'help'.
    expect(ask(c, 'dan', 'vm.start', onProd)).toMatchObject({
      allowed: false,
      basis: 'default deny',
      reason: 'no role of dan grants vm.start',
    });
    // With a grant from per-VM access, the required role is enough.
    const c2 = config({ users: { dan: { roles: ['prod-admin'], system: 'dan' } }, rules: c.rules });
    expect(ask(c2, 'dan', 'vm.start', { ...onProd, vmAccess: { users: ['dan'], groups: [] } })).toMatchObject(
      {
        allowed: true,
        basis: 'per-VM access of web01 on prod-1',
      },
    );
    expect(
      ask(c2, 'dan', 'vm.start', { ...onProd, vmAccess: { users: ['someone'], groups: [] } }).allowed,
    ).toBe(false);
  });

  it('accumulates: two matching require-role rules must both be met', () => {
    // On prod, vm.stop matches 'prod' (prod-admin) and 'stop' (admin).
    expect(ask(c, 'bob', 'vm.stop', onProd)).toMatchObject({
      allowed: false,
      reason: "rule 'stop' (vm.stop): vm.stop needs role admin, which bob does not hold",
    });
    expect(ask(c, 'carol', 'vm.stop', onProd)).toMatchObject({
      allowed: false,
      reason: "rule 'prod' (vm.* on host prod-*): vm.stop needs role prod-admin, which carol does not hold",
    });
    const root = ask(c, 'root', 'vm.stop', onProd);
    expect(root).toMatchObject({ allowed: true, obligations: { confirm: true, approvals: [] } });
    expect(root.reason).toContain("rule 'prod' (vm.* on host prod-*): root holds role prod-admin");
    expect(root.reason).toContain("rule 'stop' (vm.stop): root holds role admin");
  });

  it('matches argument globs case-insensitively', () => {
    expect(
      ask(c, 'alice', 'vm.nic.add', { ...onTest, args: { vm: 'web01', network: 'PROD-db' } }),
    ).toMatchObject({
      allowed: false,
      basis: "rule 'prod-net' (vm.nic.* with network=prod-*)",
    });
    expect(
      ask(c, 'bob', 'vm.nic.add', { ...onTest, args: { vm: 'web01', network: 'prod-db' } }).allowed,
    ).toBe(true);
    expect(
      ask(c, 'alice', 'vm.nic.add', { ...onTest, args: { vm: 'web01', network: 'default' } }).allowed,
    ).toBe(true);
  });
});

describe('approvals accumulate; none is ever dropped', () => {
  const c = config({
    users: { ...base.users, lead: { roles: ['ops', 'lead'] } },
    roles: { ...base.roles, lead: { permissions: ['approve'] } },
    rules: [
      { name: 'big', permission: 'vm.create', args: { memory: '>16G' }, effect: 'require-approval' },
      { name: 'prod', permission: 'vm.*', host: 'prod-*', effect: 'require-role', roles: ['prod-admin'] },
      {
        name: 'big-on-prod',
        permission: 'vm.create',
        host: 'prod-*',
        args: { memory: '>16G' },
        effect: 'require-role',
        roles: ['admin'],
      },
      { name: 'prod-create', permission: 'vm.create', host: 'prod-*', effect: 'require-approval' },
      {
        name: 'prod-delete',
        permission: 'vm.delete',
        host: 'prod-*',
        effect: 'require-approval',
        approvers: ['lead'],
      },
      {
        name: 'wide',
        permission: 'vm.cpu.set',
        args: { vcpus: '>=8' },
        effect: 'require-approval',
        roles: ['lead'],
        approvers: ['admin'],
      },
    ],
  });
  const big = (host: string) => ({ host, vm: 'x', args: { vm: 'x', memory: 32 * 1024 ** 2 } });

  it('compares sizes in rule arguments: above the threshold an approval, below none', () => {
    const asked = ask(c, 'alice', 'vm.create', big('test'));
    expect(asked).toMatchObject({
      allowed: true,
      basis: 'role ops: vm.*',
      obligations: {
        confirm: true,
        approvals: [{ rules: ["rule 'big' (vm.create with memory>16G)"], approvers: ['approver'] }],
      },
    });
    expect(asked.reason).toBe(
      "role ops: vm.* grants vm.create; rule 'big' (vm.create with memory>16G): needs approval by a holder of role approver",
    );
    const small = ask(c, 'alice', 'vm.create', {
      host: 'test',
      vm: 'x',
      args: { vm: 'x', memory: 16 * 1024 ** 2 },
    });
    expect(small).toMatchObject({ allowed: true, obligations: { confirm: false, approvals: [] } });
    // Missing argument: the condition does not hold, the rule does not match.
    expect(ask(c, 'alice', 'vm.create', { host: 'test', vm: 'x' }).obligations.approvals).toEqual([]);
  });

  it('applies a require-role and a require-approval of different rules together', () => {
    // vm.create on prod: 'prod' needs prod-admin, 'prod-create' needs an approval.
    expect(ask(c, 'alice', 'vm.create', { host: 'prod-1', vm: 'x', args: { vm: 'x' } })).toMatchObject({
      allowed: false,
      reason: "rule 'prod' (vm.* on host prod-*): vm.create needs role prod-admin, which alice does not hold",
    });
    const bob = ask(c, 'bob', 'vm.create', { host: 'prod-1', vm: 'x', args: { vm: 'x' } });
    expect(bob).toMatchObject({
      allowed: true,
      obligations: {
        confirm: true,
        approvals: [{ rules: ["rule 'prod-create' (vm.create on host prod-*)"], approvers: ['approver'] }],
      },
    });
    expect(bob.reason).toContain('bob holds role prod-admin');
    expect(bob.reason).toContain("rule 'prod-create' (vm.create on host prod-*): needs approval");
  });

  it('never lets a more specific require-role drop a less specific approval', () => {
    // 'big-on-prod' (3 conditions) is more specific than 'big' and 'prod-create' (2 each): it adds
    // a required role; both approvals stay, sharing one approval since they ask the same approvers.
    expect(ask(c, 'bob', 'vm.create', big('prod-1'))).toMatchObject({
      allowed: false,
      reason: expect.stringContaining("rule 'big-on-prod'"),
    });
    const root = ask(c, 'root', 'vm.create', big('prod-1'));
    expect(root).toMatchObject({ allowed: true, basis: 'role admin: *' });
    expect(root.obligations).toEqual({
      confirm: true,
      approvals: [
        {
          rules: ["rule 'big' (vm.create with memory>16G)", "rule 'prod-create' (vm.create on host prod-*)"],
          approvers: ['approver'],
        },
      ],
    });
  });

  it('keeps approvals by different approver roles apart', () => {
    const c2 = config({
      users: c.users,
      roles: c.roles,
      rules: [
        ...c.rules,
        {
          name: 'prod-delete-admin',
          permission: 'vm.delete',
          host: 'prod-*',
          effect: 'require-approval',
          approvers: ['admin'],
        },
      ],
    });
    expect(ask(c2, 'root', 'vm.delete', onProd).obligations).toEqual({
      confirm: true,
      approvals: [
        { rules: ["rule 'prod-delete' (vm.delete on host prod-*)"], approvers: ['lead'] },
        { rules: ["rule 'prod-delete-admin' (vm.delete on host prod-*)"], approvers: ['admin'] },
      ],
    });
  });

  it('needs a grant under approval too: without one it is still no', () => {
    expect(ask(c, 'nobody', 'vm.create', big('test'))).toMatchObject({
      allowed: false,
      basis: 'default deny',
      reason: 'no role of nobody grants vm.create',
      obligations: { approvals: [] },
    });
  });

  it('asks the requester for the roles a require-approval rule names, then for an approval', () => {
    const wide = { host: 'test', vm: 'x', args: { vm: 'x', vcpus: 8 } };
    expect(ask(c, 'alice', 'vm.cpu.set', wide)).toMatchObject({
      allowed: false,
      reason: "rule 'wide' (vm.cpu.set with vcpus>=8): vm.cpu.set needs role lead, which alice does not hold",
    });
    expect(ask(c, 'lead', 'vm.cpu.set', wide).obligations).toEqual({
      confirm: true,
      approvals: [{ rules: ["rule 'wide' (vm.cpu.set with vcpus>=8)"], approvers: ['admin'] }],
    });
    expect(
      ask(c, 'alice', 'vm.cpu.set', { ...wide, args: { vm: 'x', vcpus: 7 } }).obligations.approvals,
    ).toEqual([]);
  });
});

describe('deny beats everything', () => {
  const rules: ConfigInput['rules'] = [
    { name: 'prod', permission: 'vm.*', host: 'prod-*', effect: 'require-role', roles: ['prod-admin'] },
    {
      name: 'prod-approval',
      permission: 'vm.*',
      host: 'prod-*',
      effect: 'require-approval',
      approvers: ['admin'],
    },
    { name: 'freeze', permission: 'vm.*', host: 'prod-*', effect: 'deny', reason: 'change freeze' },
  ];
  const c = config({ users: { ...base.users, erin: { system: 'erin', roles: ['prod-admin'] } }, rules });

  it('refuses the admin who meets every requirement, and the per-VM user', () => {
    expect(ask(c, 'root', 'vm.start', onProd)).toMatchObject({
      allowed: false,
      basis: "rule 'freeze' (vm.* on host prod-*)",
      reason: "rule 'freeze' (vm.* on host prod-*) denies vm.start (change freeze)",
      obligations: { approvals: [] },
    });
    expect(ask(c, 'erin', 'vm.start', { ...onProd, vmAccess: { users: ['erin'], groups: [] } }).allowed).toBe(
      false,
    );
  });

  it('is not undone by a less specific allow rule', () => {
    const c2 = config({ rules: [...rules!, { name: 'open-vm', permission: 'vm.*', effect: 'allow' }] });
    expect(ask(c2, 'root', 'vm.start', onProd).basis).toBe("rule 'freeze' (vm.* on host prod-*)");
  });
});

describe('per-VM access', () => {
  const c = config();
  const access: VmAccessList = { users: ['erin', 'root'], groups: ['developers'] };

  it("grants the VM's commands to a user or group member named in its access list", () => {
    expect(ask(c, 'erin', 'vm.info', { ...onTest, vmAccess: access })).toMatchObject({
      allowed: true,
      basis: 'per-VM access of web01 on test',
      reason: 'erin (system account erin) is a user of web01 on test',
    });
    expect(ask(c, 'frank', 'vm.start', { ...onTest, vmAccess: access })).toMatchObject({
      allowed: true,
      reason: 'frank is a member of group developers, which may use web01 on test',
    });
  });

  it('never covers access changes, VM deletion, other targets, anonymous senders, or a disabled setting', () => {
    const all = config({ vmAccess: { enabled: true, permissions: ['vm.*'] } });
    for (const permission of ['vm.delete', 'vm.users.add', 'vm.groups.remove'])
      expect(ask(all, 'erin', permission, { ...onTest, vmAccess: access }).allowed, permission).toBe(false);
    expect(ask(c, 'erin', 'vm.users.add', { ...onTest, vmAccess: access }).allowed).toBe(false);
    // Not on a host command, nor without the list the target stage read.
    expect(
      ask(c, 'erin', 'vm.info', { host: 'test', command: { target: { kind: 'host' } }, vmAccess: access })
        .allowed,
    ).toBe(false);
    expect(ask(c, 'erin', 'vm.info', onTest).allowed).toBe(false);
    // 'root' is on the list, but an anonymous sender is nobody's system account.
    const anonymous = resolveIdentity(c, channel('#ops'), { nick: 'root' });
    expect(ask(c, 'root', 'vm.info', { ...onTest, vmAccess: access, identity: anonymous }).allowed).toBe(
      false,
    );
    const off = config({ vmAccess: { enabled: false, permissions: ['vm.*'] } });
    expect(ask(off, 'erin', 'vm.info', { ...onTest, vmAccess: access }).allowed).toBe(false);
  });

  it('follows vmAccess.permissions', () => {
    const some = config({ vmAccess: { enabled: true, permissions: ['vm.info'] } });
    expect(ask(some, 'erin', 'vm.info', { ...onTest, vmAccess: access }).allowed).toBe(true);
    expect(ask(some, 'erin', 'vm.start', { ...onTest, vmAccess: access }).allowed).toBe(false);
  });

  it('never covers arguments naming host resources: paths and bridges need a role', () => {
    // Even where the config lets per-VM users add disks and NICs at all.
    const c = config({ vmAccess: { enabled: true, permissions: ['vm.*'] } });
    const disk = ask(c, 'erin', 'vm.disk.add', {
      ...onTest,
      vmAccess: access,
      args: { vm: 'web01', path: '/var/lib/x.img' },
    });
    expect(disk).toMatchObject({ allowed: false, basis: 'per-VM access of web01 on test' });
    expect(disk.reason).toBe(
      'erin (system account erin) is a user of web01 on test, but path= names a resource of the host itself, which needs a role granting vm.disk.add',
    );
    expect(
      ask(c, 'erin', 'vm.nic.add', { ...onTest, vmAccess: access, args: { vm: 'web01', bridge: 'br0' } })
        .allowed,
    ).toBe(false);
    expect(
      ask(c, 'erin', 'vm.nic.add', {
        ...onTest,
        vmAccess: access,
        args: { vm: 'web01', network: 'default' },
      }).allowed,
    ).toBe(true);
    // A role grant covers them.
    expect(
      ask(c, 'alice', 'vm.disk.add', { ...onTest, args: { vm: 'web01', path: '/var/lib/x.img' } }).allowed,
    ).toBe(true);
  });

  it('does not override an explicit deny of a role or a rule, nor a required role', () => {
    const c2 = config({
      users: { erin: { system: 'erin', roles: ['limited'] } },
      roles: { limited: { permissions: ['!vm.start'] } },
      rules: [{ permission: 'vm.info', vm: 'web*', effect: 'require-role', roles: ['admin'] }],
    });
    expect(ask(c2, 'erin', 'vm.start', { ...onTest, vmAccess: access })).toMatchObject({
      allowed: false,
      reason: 'role limited: !vm.start denies vm.start',
    });
    expect(ask(c2, 'erin', 'vm.info', { ...onTest, vmAccess: access }).reason).toBe(
      "rule '#1' (vm.info on VM web*): vm.info needs role admin, which erin does not hold",
    );
  });

  it('covers a destructive command only when vmAccess.permissions names it exactly', () => {
    // The default names vm.stop (power), and nothing that removes devices.
    expect(ask(c, 'erin', 'vm.stop', { ...onTest, vmAccess: access })).toMatchObject({
      allowed: true,
      obligations: { confirm: true, approvals: [] },
    });
    for (const permission of ['vm.nic.remove', 'vm.disk.remove'])
      expect(ask(c, 'erin', permission, { ...onTest, vmAccess: access }).allowed, permission).toBe(false);
    // A glob never hands out destructive commands, vm.stop included.
    const all = config({ vmAccess: { enabled: true, permissions: ['vm.*'] } });
    for (const permission of ['vm.stop', 'vm.nic.remove', 'vm.disk.remove'])
      expect(ask(all, 'erin', permission, { ...onTest, vmAccess: access }).allowed, permission).toBe(false);
    expect(ask(all, 'erin', 'vm.start', { ...onTest, vmAccess: access }).allowed).toBe(true);
  });
});

describe('rule matching', () => {
  it('compares numbers and sizes, globs text and lists, and takes booleans exactly', () => {
    expect(argMatches('>16G', 32 * 1024 ** 2, 'size')).toBe(true);
    expect(argMatches('>16G', 16 * 1024 ** 2, 'size')).toBe(false);
    expect(argMatches('>=8', 8, 'int')).toBe(true);
    expect(argMatches('<8', 8, 'int')).toBe(false);
    expect(argMatches('root', ['ann', 'ROOT'], 'names')).toBe(true);
    expect(argMatches('root', ['ann'], 'names')).toBe(false);
    expect(argMatches(true, true, 'bool')).toBe(true);
    expect(argMatches(true, false, 'bool')).toBe(false);
    expect(argMatches(true, 'yes', 'bool')).toBe(false);
    expect(argMatches('prod-*', undefined)).toBe(false);
  });

  it('weighs rules by conditions, then literal text', () => {
    expect(ruleWeight({ permission: 'vm.delete', host: 'prod-*', effect: 'deny' })).toEqual([2, 14]);
    expect(ruleWeight({ permission: 'vm.*', host: 'prod-*', effect: 'deny' })).toEqual([2, 8]);
    expect(ruleWeight({ permission: '*', effect: 'deny' })).toEqual([0, 0]);
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
