import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allGroups } from '../../commands/index.js';
import { RoleAuthorizer } from '../../src/auth/authorizer.js';
import { hostRegistryVmAccess, type VmAccessLookup } from '../../src/auth/vm-access.js';
import { Bot } from '../../src/bot.js';
import { demoConfig } from '../../src/config/demo.js';
import { validateConfig } from '../../src/config/load.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { withAccess } from '../../src/libvirt/metadata.js';
import { makeTestBot, type TestBot } from '../security/bot.js';

/** web01 on test: user 'erin' and group 'developers' (frank's group); lookups counted; 'broken' fails. */
function fakeLookup(calls: string[]): VmAccessLookup {
  return {
    async usersAndGroups(host, vm) {
      calls.push(`${host}/${vm}`);
      if (vm === 'broken') throw new Error('virsh: domain not found\nmore detail');
      if (host === 'test' && vm === 'web01') return { users: ['erin', 'root'], groups: ['developers'] };
      return { users: [], groups: [] };
    },
  };
}

let t: TestBot;
afterEach(async () => t?.close());

describe('per-VM access', () => {
  it("lets a user named in the VM's access run its non-destructive commands without a role", async () => {
    const calls: string[] = [];
    t = await makeTestBot({ vmAccess: fakeLookup(calls) });
    expect(await t.text('erin', 'probe info web01')).toBe('ran probe info');
    expect(await t.text('erin', 'probe start web01 host=test')).toBe('ran probe start');
    expect(calls).toEqual(['test/web01', 'test/web01']);
    const [first] = await t.records();
    expect(first).toMatchObject({ user: 'erin', outcome: 'ok', vm: 'web01' });
  });

  it('lets a member of one of its groups in, through the group’s system name', async () => {
    t = await makeTestBot({ vmAccess: fakeLookup([]) });
    expect(await t.text('frank', 'probe info web01')).toBe('ran probe info');
  });

  it('explains the decision in permissions check', async () => {
    t = await makeTestBot({ vmAccess: fakeLookup([]) });
    expect(await t.text('dave', 'permissions check frank probe info web01')).toBe(
      'frank may run probe info in #ops: frank is a member of group developers, which may use web01 on test',
    );
    expect(await t.text('dave', 'permissions check erin probe delete web01')).toBe(
      'erin may not run probe delete in #ops: no role of erin grants probe.delete',
    );
  });

  it('never covers destructive commands, access changes, other VMs, other hosts or anonymous senders', async () => {
    const calls: string[] = [];
    t = await makeTestBot({ vmAccess: fakeLookup(calls) });
    expect(await t.text('erin', 'probe delete web01')).toBe('denied: no role of erin grants probe.delete');
    expect(await t.text('erin', 'probe info web02')).toBe('denied: no role of erin grants probe.info');
    expect(await t.text('erin', 'probe info web01 host=prod-1')).toBe(
      'denied: no role of erin grants probe.info',
    );
    // bob is not on the list (and only has probe.info through his role).
    expect(await t.text('bob', 'probe start web01')).toBe('denied: no role of bob grants probe.start');
    // 'root' is on the list, but an anonymous sender with nick root is nobody's system account.
    expect(await t.text('root', 'probe info web01', { sender: { local: false } })).toBe(
      'denied: no role of root (not identified) grants probe.info',
    );
    expect(t.runs).toEqual([]);
    // Destructive commands and anonymous senders never even look the VM up.
    expect(calls).toEqual(['test/web02', 'prod-1/web01', 'test/web01']);
  });

  it('follows vmAccess.permissions: access changes are excluded unless configured', async () => {
    t = await makeTestBot({
      vmAccess: fakeLookup([]),
      config: { vmAccess: { enabled: true, permissions: ['probe.*', '!probe.users.*'] } },
    });
    expect(await t.text('erin', 'probe users add web01 mallory')).toBe(
      'denied: no role of erin grants probe.users.add',
    );
    await t.close();
    t = await makeTestBot({
      vmAccess: fakeLookup([]),
      config: { vmAccess: { enabled: false, permissions: ['probe.*'] } },
    });
    expect(await t.text('erin', 'probe info web01')).toBe('denied: no role of erin grants probe.info');
  });

  it('fails closed when the access list cannot be read', async () => {
    t = await makeTestBot({ vmAccess: fakeLookup([]) });
    expect(await t.text('erin', 'probe info broken')).toBe(
      'denied: no role of erin grants probe.info, and the access list of broken on test cannot be read (virsh: domain not found)',
    );
    expect(t.runs).toEqual([]);
  });

  it('does not override an explicit deny of a role or a rule', async () => {
    t = await makeTestBot({
      vmAccess: fakeLookup([]),
      config: {
        users: { erin: { system: 'erin', roles: ['limited'] }, frank: {} },
        roles: { limited: { permissions: ['!probe.start'] } },
        rules: [{ permission: 'probe.info', vm: 'web*', effect: 'require-role', roles: ['admin'] }],
      },
    });
    expect(await t.text('erin', 'probe start web01')).toBe(
      'denied: role limited: !probe.start denies probe.start',
    );
    expect(await t.text('erin', 'probe info web01')).toContain('denied: rule #1 (probe.info on VM web*)');
  });
});

describe('per-VM access over real virsh (test:///default)', () => {
  let dir: string;
  let hosts: HostRegistry;
  let bot: Bot;
  const say = async (nick: string, text: string) =>
    (
      await bot.handle({
        place: { transport: 'console', network: '', channel: '#ops', private: false },
        sender: { nick, local: true },
        text,
        time: new Date(),
        addressed: true,
      })
    )
      .map((r) => r.text)
      .join('\n');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-vm-access-'));
    const config = validateConfig({
      ...demoConfig(dir),
      roles: {},
      anonymous: { roles: [] },
      users: { erin: { system: 'erin' }, frank: {}, bob: { system: 'bob' } },
      groups: { devs: { members: ['frank'], system: 'developers' } },
    });
    hosts = new HostRegistry(config);
    const hv = hosts.get('test');
    await hv.setVirtbotMetadata(
      'test',
      withAccess(await hv.virtbotMetadata('test'), ['erin'], ['developers']),
      {
        live: false,
        config: true,
      },
    );
    bot = new Bot({
      config,
      hosts,
      groups: allGroups(),
      logger: pino({ level: 'silent' }),
      authorizer: new RoleAuthorizer(config, { vmAccess: hostRegistryVmAccess(hosts) }),
    });
  });
  afterAll(async () => {
    await bot?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the access list the libvirt layer wrote', async () => {
    expect(await hostRegistryVmAccess(hosts).usersAndGroups('test', 'test')).toEqual({
      users: ['erin'],
      groups: ['developers'],
    });
  });

  it('lets erin and the developers see the VM, and nobody else', async () => {
    expect(await say('erin', 'vm info test')).toMatch(/^test/);
    expect(await say('frank', 'vm info test')).toMatch(/^test/);
    expect(await say('bob', 'vm info test')).toBe('denied: no role of bob grants vm.info');
  });

  it('keeps destructive commands and access changes from per-VM users', async () => {
    expect(await say('erin', 'vm users remove test erin')).toBe(
      'denied: no role of erin grants vm.users.remove',
    );
    expect(await say('erin', 'vm users add test bob')).toBe('denied: no role of erin grants vm.users.add');
  });

  it('fails closed for a VM that does not exist', async () => {
    expect(await say('erin', 'vm info nosuchvm')).toMatch(
      /^denied: no role of erin grants vm\.info, and the access list of nosuchvm on test cannot be read/,
    );
  });
});
