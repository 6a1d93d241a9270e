/**
 * Per-VM access through the whole pipeline on real test hosts (test/security/bot.ts): an admin
 * grants a user or a group with `vm users add` / `vm groups add`; the target stage reads the
 * access list from the host the VM is found on, and the judge lets that user run that VM's
 * commands — that VM's, on that host, never more.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backendOf, makeTestBot, type TestBot } from '../security/bot.js';

let t: TestBot;
afterEach(async () => t?.close());

/** web01 on test: user erin and group developers (frank's); twin on test (not on prod-1): erin. */
async function grant(bot: TestBot): Promise<void> {
  expect(await bot.text('dave', 'vm users add web01 erin')).toBe(
    'granted erin access to web01; users now: erin',
  );
  expect(await bot.text('dave', 'vm groups add web01 developers')).toBe(
    'granted developers access to web01; groups now: developers',
  );
  expect(await bot.text('dave', 'vm users add twin erin host=test')).toBe(
    'granted erin access to twin; users now: erin',
  );
  bot.runs.length = 0;
}

/** Host test cannot read persistent definitions (where access lists are) from now on. */
function failDefinitions(bot: TestBot): void {
  backendOf(bot.bot, 'test').hold = async (command, args) => {
    if (command === 'dumpxml' && args.some((a) => typeof a === 'object' && a.option === '--inactive'))
      throw new Error('cannot read the definition');
  };
}

describe('per-VM access', () => {
  it("lets a user named in the VM's access run its commands without a role", async () => {
    t = await makeTestBot();
    expect(await t.text('erin', 'probe info web01')).toBe('denied: no role of erin grants probe.info');
    await grant(t);
    expect(await t.text('erin', 'probe info web01')).toBe('ran probe info');
    expect(await t.text('erin', 'probe start web01 host=test')).toBe('ran probe start');
    expect(t.runs).toEqual([
      { path: 'probe.info', args: { vm: 'web01' }, user: 'erin', host: 'test', vm: 'web01' },
      { path: 'probe.start', args: { vm: 'web01', host: 'test' }, user: 'erin', host: 'test', vm: 'web01' },
    ]);
    expect((await t.records()).at(-1)).toMatchObject({
      user: 'erin',
      outcome: 'ok',
      host: 'test',
      vm: 'web01',
    });
  });

  it('lets a member of one of its groups in, through the group’s system name', async () => {
    t = await makeTestBot();
    await grant(t);
    expect(await t.text('frank', 'probe info web01')).toBe('ran probe info');
  });

  it('explains the decision in permissions check', async () => {
    t = await makeTestBot();
    await grant(t);
    expect(await t.text('dave', 'permissions check frank probe info web01')).toBe(
      'frank may run probe info (VM web01 on test) in #ops: frank is a member of group developers, which may use web01 on test',
    );
    expect(await t.text('dave', 'permissions check erin probe info web02')).toBe(
      'erin may not run probe info (VM web02 on test) in #ops: no role of erin grants probe.info',
    );
  });

  it('never covers other VMs, the same name on another host, fleets, host commands or anonymous senders', async () => {
    t = await makeTestBot();
    await grant(t);
    expect(await t.text('erin', 'probe info web02')).toBe('denied: no role of erin grants probe.info');
    // twin is on both hosts; erin may use the one on test only.
    expect(await t.text('erin', 'probe info twin host=test')).toBe('ran probe info');
    expect(await t.text('erin', 'probe info twin host=prod-1')).toBe(
      'denied: no role of erin grants probe.info',
    );
    expect(await t.text('erin', 'probe list')).toBe('denied: no role of erin grants probe.list');
    expect(await t.text('erin', 'probe net default')).toBe('denied: no role of erin grants probe.net');
    // bob is not on the list (and only has probe.info through his role).
    expect(await t.text('bob', 'probe start web01')).toBe('denied: no role of bob grants probe.start');
    // 'erin' is on the list, but an anonymous sender with her nick is nobody's system account,
    // and nothing reads the access list for such a sender.
    const sent = backendOf(t.bot, 'test').sent;
    sent.length = 0;
    expect(await t.text('erin', 'probe info web01', { sender: { local: false } })).toBe(
      'denied: no role of erin (not identified) grants probe.info',
    );
    expect(sent).not.toContain('dumpxml');
    expect(t.runs.map((r) => `${r.path} ${r.vm} on ${r.host}`)).toEqual(['probe.info twin on test']);
  });

  it('reads the list where the VM is now: a grant does not follow the name to another host', async () => {
    t = await makeTestBot();
    await grant(t);
    // web01 moves to prod-1 behind virtbot's back, as a bare definition (no access list).
    const hosts = t.bot.hosts;
    const xml = (await hosts.get('test').dumpXml('web01', { inactive: true })).replace(
      /<metadata>[\s\S]*<\/metadata>/,
      '',
    );
    await hosts.get('test').destroy('web01');
    await hosts.get('test').undefine('web01');
    await hosts.get('prod-1').define(xml);
    expect(await t.text('erin', 'probe info web01')).toBe('denied: no role of erin grants probe.info');
    expect(t.runs).toEqual([]);
  });

  it('follows vmAccess.permissions: access changes are excluded unless configured, and all of it can be off', async () => {
    t = await makeTestBot();
    await grant(t);
    expect(await t.text('erin', 'probe users add web01 mallory')).toBe(
      'denied: no role of erin grants probe.users.add',
    );
    expect(await t.text('erin', 'vm users add web01 bob')).toBe(
      'denied: no role of erin grants vm.users.add',
    );
    await t.close();
    t = await makeTestBot({ config: { vmAccess: { enabled: false, permissions: ['probe.*'] } } });
    await grant(t);
    expect(await t.text('erin', 'probe info web01')).toBe('denied: no role of erin grants probe.info');
    expect(t.runs).toEqual([]);
  });

  it('never covers paths or bridges: the host itself needs a role', async () => {
    t = await makeTestBot();
    await grant(t);
    expect(await t.text('erin', 'probe disk web01 path=/var/lib/libvirt/images/a.img')).toBe(
      'denied: erin (system account erin) is a user of web01 on test, but path= names a resource of the host itself, which needs a role granting probe.disk',
    );
    expect(await t.text('erin', 'probe nic web01 bridge=br0')).toMatch(
      /^denied: .*but bridge= names a resource of the host itself/,
    );
    expect(await t.text('erin', 'probe nic web01 network=default')).toBe('ran probe nic');
    // For everyone, roles included, only the host's pools and listed bridges.
    expect(await t.text('dave', 'probe disk web01 path=/etc/shadow')).toBe(
      "denied: /etc/shadow is not inside a storage pool of host test: only pool volumes and the host's listed paths may be used (hosts[].paths in the config)",
    );
    expect(t.runs.map((r) => r.path)).toEqual(['probe.nic']);
  });

  it('fails closed when the access list cannot be read: no per-VM access, roles still apply', async () => {
    t = await makeTestBot();
    await grant(t);
    failDefinitions(t);
    expect(await t.text('erin', 'probe info web01')).toBe(
      'denied: no role of erin grants probe.info; the access list of web01 could not be read (cannot read the definition)',
    );
    const [reply] = await t.say('alice', 'probe info web01');
    expect(reply!.text).toBe('ran probe info');
    expect(t.runs.map((r) => r.user)).toEqual(['alice']);
  });

  // Defect: when the target stage cannot read a VM's access list it notes why, but the note is
  // dropped when the judge then denies, so the person is told only "no role grants …" and cannot
  // tell a broken VM definition from a missing grant. (The old denial said "…, and the access
  // list of X on HOST cannot be read (…)".) Fix: append the target's notes to a denial's reason.
  it('says that the access list could not be read when it denies', async () => {
    t = await makeTestBot();
    await grant(t);
    failDefinitions(t);
    expect(await t.text('erin', 'probe info web01')).toMatch(
      /^denied: no role of erin grants probe\.info.*access list of web01 .*could not be read/,
    );
  });

  it('does not override an explicit deny of a role or a rule, nor a required role', async () => {
    t = await makeTestBot({
      config: {
        users: { dave: { roles: ['admin'] }, erin: { system: 'erin', roles: ['limited'] }, frank: {} },
        roles: { limited: { permissions: ['!probe.start'] }, admin: { permissions: ['*'] } },
        rules: [{ permission: 'probe.info', vm: 'web*', effect: 'require-role', roles: ['admin'] }],
      },
    });
    await grant(t);
    expect(await t.text('erin', 'probe start web01')).toBe(
      'denied: role limited: !probe.start denies probe.start',
    );
    expect(await t.text('erin', 'probe info web01')).toBe(
      "denied: rule '#1' (probe.info on VM web*): probe.info needs role admin, which erin does not hold",
    );
    expect(t.runs).toEqual([]);
  });
});

describe('per-VM access with the vm commands', () => {
  const vmConfig = { vmAccess: { enabled: true, permissions: ['vm.*', '!vm.users.*', '!vm.groups.*'] } };

  it('lets erin and the developers see and change their VM, and nobody else', async () => {
    t = await makeTestBot({ config: vmConfig });
    await grant(t);
    expect(await t.text('erin', 'vm info web01')).toMatch(/^web01 on test: running, 1 vCPU/);
    expect(await t.text('frank', 'vm info web01')).toMatch(/^web01 on test: running/);
    expect(await t.text('bob', 'vm info web01')).toBe('denied: no role of bob grants vm.info');
    expect(await t.text('erin', 'vm info web02')).toBe('denied: no role of erin grants vm.info');
    expect(await t.text('erin', 'vm cpu set web01 1')).not.toMatch(/^denied/);
    expect(await t.text('erin', 'vm list')).toMatch(/^denied: /);
  });

  it('keeps access changes and VM deletion from per-VM users', async () => {
    t = await makeTestBot({ config: { vmAccess: { enabled: true, permissions: ['vm.*'] } } });
    await grant(t);
    expect(await t.text('erin', 'vm users remove web01 erin')).toBe(
      'denied: no role of erin grants vm.users.remove',
    );
    expect(await t.text('erin', 'vm users add web01 bob')).toBe(
      'denied: no role of erin grants vm.users.add',
    );
    expect(await t.text('erin', 'vm groups add web01 ops')).toBe(
      'denied: no role of erin grants vm.groups.add',
    );
    expect(await t.text('erin', 'vm delete web01')).toBe('denied: no role of erin grants vm.delete');
    expect(await t.text('dave', 'vm users list web01')).toBe('web01 1 user: erin');
  });

  // Defect (see test/auth/rules.test.ts): per-VM access grants destructive commands; README and
  // the vmAccess schema say it never does. grantByVmAccess should return nothing when
  // `command.destructive`.
  it('keeps destructive commands from per-VM users (vm stop, vm nic remove)', async () => {
    t = await makeTestBot({ config: vmConfig });
    await grant(t);
    expect(await t.text('erin', 'vm stop web01')).toBe('denied: no role of erin grants vm.stop');
    expect(await t.text('erin', 'vm nic remove web01 52:54:00:10:00:01')).toBe(
      'denied: no role of erin grants vm.nic.remove',
    );
  });

  // Defect: the target stage runs before the judge, and its errors go to anyone: a person who
  // may run nothing learns which VMs exist, on which hosts, and why a host cannot be reached
  // ("no VM 'x' on any host (test, prod-1)" / "there is a VM 'twin' on test and prod-1"), where
  // the old pipeline judged first and denied. Fix: when locating fails, judge the request on
  // each candidate host (without a VM) and answer with the denial when no candidate would allow
  // it; only then give the locating error.
  it('tells a person who may run nothing no more about a missing VM than about a present one', async () => {
    t = await makeTestBot({ config: vmConfig });
    const present = await t.text('erin', 'vm info web02');
    expect(present).toBe('denied: no role of erin grants vm.info');
    expect(await t.text('erin', 'vm info nosuchvm')).toBe(present);
    expect(await t.text('erin', 'vm info twin')).toBe(present);
  });
});
