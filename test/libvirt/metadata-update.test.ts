/**
 * updateMetadata on libvirt's test driver (one process: test:/// keeps its state per
 * connection, so the race between processes is the e2e suite's): changes compose, a claim left
 * by a dead process expires, a live one holds others off, a change made in between by someone
 * who takes no lock is noticed and the edit applied again, Kimchi VMs are written in Kimchi's
 * format, transient VMs too.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Hypervisor } from '../../src/libvirt/hypervisor.js';
import { withAccess, withDevices } from '../../src/libvirt/metadata.js';
import { LOCK_NS, MetadataConflictError } from '../../src/libvirt/metadata-update.js';
import { NO_VIRSH, NO_VIRSH_REASON, testHypervisor } from './have-virsh.js';

describe.skipIf(NO_VIRSH)(NO_VIRSH ? `metadata updates — ${NO_VIRSH_REASON}` : 'metadata updates', () => {
  let hv: Hypervisor;
  beforeEach(() => {
    hv = testHypervisor({ metadata: 'auto' });
  });
  afterEach(() => hv.close());

  const xml = (inactive = true) => hv.dumpXml('test', { inactive });
  const claim = (id: string, until: Date) =>
    hv.virsh('metadata', [
      { option: '--domain', value: 'test' },
      { option: '--uri', value: `${LOCK_NS}${id}` },
      { option: '--key', value: 'vblock' },
      { option: '--set', value: `<claim until="${until.toISOString()}"/>` },
      { option: '--config' },
    ]);

  test('twenty grants at once, none lost; the live VM and the config agree; no claim is left behind', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    const results = await Promise.all(users.map((u) => hv.changeAccess('test', { addUsers: [u] })));
    expect(results.every((r) => r.changed)).toBe(true);
    expect([...(await hv.domain('test', { inactive: true })).metadata.users].sort()).toEqual(
      [...users].sort(),
    );
    expect([...(await hv.domain('test')).metadata.users].sort()).toEqual([...users].sort());
    expect(await xml()).not.toContain(LOCK_NS);
    // Revoking composes the same way.
    await Promise.all(users.slice(0, 10).map((u) => hv.changeAccess('test', { removeUsers: [u] })));
    expect([...(await hv.domain('test', { inactive: true })).metadata.users].sort()).toEqual(
      users.slice(10).sort(),
    );
  });

  test('a claim left by a process that died expires and is cleared', async () => {
    await claim('dead0000', new Date(Date.now() - 1000));
    const r = await hv.changeAccess('test', { addUsers: ['alice'] });
    expect(r.attempts).toBe(1);
    expect(await xml()).not.toContain(`${LOCK_NS}dead0000`);
  });

  test('a live claim holds a change off until it is gone', async () => {
    await claim('alive000', new Date(Date.now() + 60_000));
    await expect(hv.changeAccess('test', { addUsers: ['alice'] }, { attempts: 1 })).rejects.toThrow(
      MetadataConflictError,
    );
    expect((await hv.domain('test', { inactive: true })).metadata.users).toEqual([]);
    await hv.virsh('metadata', [
      { option: '--domain', value: 'test' },
      { option: '--uri', value: `${LOCK_NS}alive000` },
      { option: '--remove' },
      { option: '--config' },
    ]);
    expect((await hv.changeAccess('test', { addUsers: ['alice'] })).changed).toBe(true);
  });

  test('a change made in between by a writer without a lock (an admin) is seen, and the edit applied again on top', async () => {
    await hv.changeAccess('test', { addUsers: ['alice'] });
    const shell = hv.backend.shell;
    const runBatch = shell.runBatch.bind(shell);
    let injected = false;
    shell.runBatch = (commands, options) => {
      const writesData = commands.some(
        (c) =>
          c.command === 'metadata' &&
          c.args?.some((a) => typeof a === 'object' && 'value' in a && a.value === 'urn:x-virtbot:domain:1'),
      );
      if (writesData && !injected) {
        injected = true;
        // The admin sets the list to "carol" right after virtbot's write, before its read-back.
        const at = commands.findIndex((c) => c.command === 'dumpxml');
        const admin = {
          command: 'metadata',
          args: [
            { option: '--domain', value: 'test' },
            { option: '--uri', value: 'urn:x-virtbot:domain:1' },
            { option: '--key', value: 'virtbot' },
            { option: '--set', value: '<vm><access><user>carol</user></access></vm>' },
            { option: '--live' },
            { option: '--config' },
          ],
        };
        return runBatch([...commands.slice(0, at), admin, ...commands.slice(at)], options).then((r) => [
          ...r.slice(0, at),
          ...r.slice(at + 1),
        ]);
      }
      return runBatch(commands, options);
    };
    const r = await hv.changeAccess('test', { addUsers: ['bob'] });
    expect(injected).toBe(true);
    expect(r.attempts).toBe(2);
    // bob added to what the admin left, not to virtbot's older read.
    expect((await hv.domain('test', { inactive: true })).metadata.users).toEqual(['carol', 'bob']);
  });

  test('the element-based setVirtbotMetadata applies only its change: a grant made since its read stays', async () => {
    await hv.changeAccess('test', { addUsers: ['alice'] });
    const read = await hv.virtbotMetadata('test');
    // Another process grants carol after that read.
    await hv.changeAccess('test', { addUsers: ['carol'] });
    await hv.setVirtbotMetadata('test', withAccess(read, ['alice', 'bob'], []), { live: true, config: true });
    expect((await hv.domain('test', { inactive: true })).metadata.users).toEqual(['alice', 'carol', 'bob']);
    // Storing the NIC model from a stale element leaves the access list alone.
    const again = await hv.virtbotMetadata('test');
    await hv.changeAccess('test', { removeUsers: ['alice'] });
    await hv.setVirtbotMetadata('test', withDevices(again, 'e1000', 'ide'), { live: false, config: true });
    expect((await hv.domain('test', { inactive: true })).metadata).toMatchObject({
      users: ['carol', 'bob'],
      nicModel: 'e1000',
      diskBus: 'ide',
    });
  });

  test('a Kimchi VM is written in Kimchi’s format, and nothing else of its metadata changes', async () => {
    await hv.virsh('metadata', [
      { option: '--domain', value: 'test' },
      { option: '--uri', value: 'https://github.com/kimchi-project/kimchi' },
      { option: '--key', value: 'kimchi' },
      {
        option: '--set',
        value:
          '<metadata><os distro="fedora" version="20"/><access><auth type="pam"><user>alice</user></auth><auth type="ldap"><user>carol</user></auth></access></metadata>',
      },
      { option: '--live' },
      { option: '--config' },
    ]);
    const r = await hv.changeAccess('test', {
      addUsers: ['bob'],
      removeUsers: ['alice'],
      addGroups: ['ops'],
    });
    expect(r.format).toBe('kimchi');
    const after = await xml();
    expect(after).toMatch(
      /<kimchi:auth type="ldap">\s*<kimchi:user>carol<\/kimchi:user>\s*<\/kimchi:auth>\s*<kimchi:auth type="pam">\s*<kimchi:user>bob<\/kimchi:user>\s*<kimchi:group>ops<\/kimchi:group>\s*<\/kimchi:auth>/,
    );
    expect(after).toContain('<kimchi:os distro="fedora" version="20"/>');
    expect(after).not.toContain('<virtbot:access');
    expect((await hv.domain('test', { inactive: true })).metadata).toMatchObject({
      users: ['bob'],
      groups: ['ops'],
      accessSource: 'kimchi',
      distro: 'fedora',
    });
  });

  test('a transient VM can be granted (on the running VM)', async () => {
    await hv.withTempFile(
      "<domain type='test'><name>tmp1</name><memory unit='MiB'>64</memory><os><type arch='i686'>hvm</type></os></domain>",
      (file) => hv.virsh('create', [{ option: '--file', value: file }]),
    );
    const r = await hv.changeAccess('tmp1', { addUsers: ['alice'] });
    expect(r.changed).toBe(true);
    expect((await hv.domain('tmp1')).metadata.users).toEqual(['alice']);
  });
});
