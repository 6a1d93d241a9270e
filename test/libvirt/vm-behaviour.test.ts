/**
 * What the VM commands really do on libvirt's test driver (a fresh default per virsh process):
 * each effect is checked in the domain XML, not in the reply.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { group as vm } from '../../commands/vm.js';
import { demoConfig } from '../../src/config/demo.js';
import type { HostConfig } from '../../src/config/sections/hosts.js';
import { LocalBackend } from '../../src/libvirt/backend.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { parseXml } from '../../src/libvirt/xml.js';
import { NO_VIRSH, NO_VIRSH_REASON } from './have-virsh.js';
import { makeRunner } from './run-command.js';

describe.skipIf(NO_VIRSH)(
  NO_VIRSH ? `VM commands on the test driver — ${NO_VIRSH_REASON}` : 'VM commands on the test driver',
  () => {
    /** A local backend whose host accounts are fixed (the test machine's are not ours to change). */
    class Accounts extends LocalBackend {
      override async getent(database: 'passwd' | 'group'): Promise<string> {
        return database === 'passwd'
          ? 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\nnobody:x:65534:65534::/:/usr/sbin/nologin\n'
          : 'root:x:0:\nadm:x:4:\nops:x:1005:alice\n';
      }
    }

    let hosts: HostRegistry;
    let say: ReturnType<typeof makeRunner>;
    beforeEach(() => {
      hosts = new HostRegistry(demoConfig(), {
        backend: (h: HostConfig) => new Accounts({ host: h.name, uri: h.uri }),
      });
      say = makeRunner(hosts, [vm]);
    });
    afterEach(() => hosts.close());

    const hv = () => hosts.get('test');
    const config = async (name: string) => hv().domain(name, { inactive: true });

    describe('NICs', () => {
      test('on a driver that cannot hotplug, a NIC added to a running VM goes to its config, and the reply says so', async () => {
        const out = await say('vm nic add test network=default mac=52:54:00:00:00:01');
        expect(out.reply).toBe(
          "added NIC 52:54:00:00:00:01 (e1000) on network default to test, in config, from the next boot (host test cannot change a running VM's devices)",
        );
        expect(out.detail).toBe(
          "Attach network interface 'default' (52:54:00:00:00:01, e1000: default for an unknown guest on i686) to guest 'test'",
        );
        expect((await config('test')).nics.map((n) => n.mac)).toEqual([
          'aa:bb:cc:dd:ee:ff',
          '52:54:00:00:00:01',
        ]);
        expect((await hv().domain('test')).nics.map((n) => n.mac)).toEqual(['aa:bb:cc:dd:ee:ff']);
        expect((await say('vm nic list test')).reply).toContain(
          '52:54:00:00:00:01 (network default, e1000, from the next boot)',
        );
      });

      test('a MAC is unique in the VM; a random one is 52:54:00:…', async () => {
        await expect(say('vm nic add test mac=aa:bb:cc:dd:ee:ff')).rejects.toThrow(
          'test already has a NIC with MAC aa:bb:cc:dd:ee:ff',
        );
        const out = await say('vm nic add test');
        expect(out.reply).toMatch(/^added NIC 52:54:00(:[0-9a-f]{2}){3} /);
      });

      test('the model chosen for a VM is stored and reused, also after every NIC was removed', async () => {
        await say('vm create win template=win2019');
        let view = await config('win');
        expect(view.metadata).toMatchObject({
          distro: 'windows',
          version: '2019',
          nicModel: 'e1000',
          diskBus: 'ide',
        });
        expect(view.nics.map((n) => n.model)).toEqual(['e1000']);
        await say(`vm nic remove win ${view.nics[0]!.mac}`);
        expect((await config('win')).nics).toEqual([]);
        expect((await say('vm nic add win')).reply).toContain('(e1000)');
        // A named model is used once, not stored.
        expect((await say('vm nic add win model=virtio')).reply).toContain('(virtio)');
        view = await config('win');
        expect(view.metadata.nicModel).toBe('e1000');
        expect(view.nics.map((n) => n.model)).toEqual(['e1000', 'virtio']);

        await say('vm create deb template=debian12');
        expect((await config('deb')).nics.map((n) => n.model)).toEqual(['virtio']);
      });

      test('a VM virtbot did not make: the model derived from its arch is stored on first use', async () => {
        await say('vm nic add test');
        expect((await config('test')).metadata.nicModel).toBe('e1000');
        for (const nic of (await config('test')).nics) await say(`vm nic remove test ${nic.mac}`);
        expect((await say('vm nic add test')).reply).toContain('(e1000)');
      });

      test('a Kimchi VM: the model follows the OS in Kimchi’s metadata', async () => {
        const root = parseXml(await hv().dumpXml('test', { inactive: true }));
        const xml = (await hv().dumpXml('test', { inactive: true }))
          .replace('<name>test</name>', '<name>kimchi1</name>')
          .replace(/<uuid>.*<\/uuid>/, '')
          .replace(
            '<memory',
            `<metadata><kimchi:metadata xmlns:kimchi="https://github.com/kimchi-project/kimchi"><kimchi:os distro="fedora" version="20"/><kimchi:access><kimchi:auth type="pam"><kimchi:user>alice</kimchi:user></kimchi:auth></kimchi:access></kimchi:metadata></metadata><memory`,
          )
          .replace("arch='i686'", "arch='x86_64'")
          .replace(/<mac address='aa:bb:cc:dd:ee:ff'\/>/, '')
          .replace(/<model type='[^']*'\/>/g, '');
        expect(root.name).toBe('domain');
        await hv().define(xml);
        expect((await say('vm nic add kimchi1')).reply).toContain('(virtio)');
        expect((await say('vm users list kimchi1')).reply).toBe(
          'kimchi1 1 user: alice (from Kimchi metadata)',
        );
        // Changing the list writes Kimchi's own element, in Kimchi's format: both tools see the same list.
        expect((await say('vm users add kimchi1 bob')).reply).toBe(
          'granted bob access to kimchi1; users now: alice, bob',
        );
        const after = await hv().dumpXml('kimchi1', { inactive: true });
        expect(after).toMatch(
          /<kimchi:auth type="pam">\s*<kimchi:user>alice<\/kimchi:user>\s*<kimchi:user>bob<\/kimchi:user>\s*<\/kimchi:auth>/,
        );
        expect(after).not.toContain('<virtbot:access>');
        expect((await say('vm users list kimchi1')).reply).toBe(
          'kimchi1 2 users: alice, bob (from Kimchi metadata)',
        );
      });

      test('update: network live or off, model only while off; remove by MAC', async () => {
        await expect(say('vm nic update test aa:bb:cc:dd:ee:ff model=virtio')).rejects.toThrow(
          'the model of a NIC can only change while test is off',
        );
        await expect(say('vm nic update test aa:bb:cc:dd:ee:ff network=nope')).rejects.toThrow(
          "no network 'nope'",
        );
        await say('vm create off1 template=debian12');
        const mac = (await config('off1')).nics[0]!.mac;
        const out = await say(`vm nic update off1 ${mac} model=rtl8139`);
        expect(out.reply).toBe(`NIC ${mac} of off1 now model rtl8139, in config`);
        expect((await config('off1')).nics[0]!.model).toBe('rtl8139');
        await expect(say('vm nic remove off1 52:54:00:99:99:99')).rejects.toThrow(
          'off1 has no NIC with MAC 52:54:00:99:99:99',
        );
        expect((await say(`vm nic remove off1 ${mac}`)).reply).toBe(
          `removed NIC ${mac} from off1, in config`,
        );
        expect((await config('off1')).nics).toEqual([]);
      });

      test('two commands on the same VM never lose each other’s changes', async () => {
        const macs = Array.from(
          { length: 12 },
          (_, i) => `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`,
        );
        await Promise.all(macs.map((mac) => say(`vm nic add test mac=${mac}`)));
        expect((await config('test')).nics.map((n) => n.mac).sort()).toEqual(
          ['aa:bb:cc:dd:ee:ff', ...macs].sort(),
        );
      });
    });

    describe('disks and CD-ROM', () => {
      test('a new volume becomes the next virtio disk; IDE limits and hotplug rules are enforced', async () => {
        await say('vm create d1 template=win2019');
        expect((await config('d1')).disks.map((d) => [d.target, d.bus])).toEqual([['hda', 'ide']]);
        expect((await say('vm disk add d1 size=10M')).reply).toBe(
          'added disk hdb (10M, ide, pool default-pool) to d1, in config',
        );
        await say('vm disk add d1 size=10M');
        await say('vm cdrom insert d1 iso=/default-pool/win.iso');
        await expect(say('vm disk add d1 size=10M')).rejects.toThrow(
          'd1 already has 4 devices on its IDE bus, the most it takes',
        );
        expect((await say('vm disk add d1 size=10M bus=virtio')).reply).toContain(
          'added disk vda (10M, virtio',
        );
        const disks = (await config('d1')).disks;
        expect(disks.map((d) => `${d.target}:${d.bus}:${d.device}`)).toEqual([
          'hda:ide:disk',
          'hdb:ide:disk',
          'hdc:ide:disk',
          'hdd:ide:cdrom',
          'vda:virtio:disk',
        ]);
        expect(disks[3]!.source).toBe('/default-pool/win.iso');
        // Running VM: IDE cannot be hotplugged.
        await expect(say('vm disk add test size=10M bus=ide')).rejects.toThrow(
          'IDE disks cannot be hotplugged: shut test down first',
        );
        expect(
          (await hv().virsh('vol-list', [{ option: '--pool', value: 'default-pool' }])).stdout,
        ).toContain('d1-hdb.qcow2');
      });

      test('remove keeps the volume unless delete=yes; eject empties the drive', async () => {
        await say('vm create d2 template=debian12');
        await say('vm disk add d2 size=10M');
        expect((await say('vm disk remove d2 vdb')).reply).toBe(
          'removed disk vdb from d2, in config, kept /default-pool/d2-vdb.qcow2',
        );
        await say('vm disk add d2 path=/default-pool/d2-vdb.qcow2');
        expect((await say('vm disk remove d2 vdb delete=yes')).reply).toBe(
          'removed disk vdb from d2, in config, deleted /default-pool/d2-vdb.qcow2',
        );
        expect(await hv().volumeExists('default-pool', 'd2-vdb.qcow2')).toBe(false);
        await say('vm cdrom insert d2 iso=/default-pool/a.iso');
        expect((await say('vm cdrom insert d2 iso=/default-pool/b.iso')).reply).toBe(
          "inserted /default-pool/b.iso into d2's CD-ROM hda, in config",
        );
        expect((await say('vm cdrom eject d2')).reply).toBe(
          "ejected /default-pool/b.iso from d2's CD-ROM hda, in config",
        );
        expect((await config('d2')).disks.find((d) => d.device === 'cdrom')?.source).toBeUndefined();
        await expect(say('vm cdrom eject d2')).rejects.toThrow('the CD-ROM drive of d2 is already empty');
      });
    });

    describe('CPU and memory', () => {
      test('live up to the maximum; the maximum changes only while off', async () => {
        expect((await say('vm memory set test 1G')).reply).toBe(
          'test now has 1G memory (was 2G), live and in config',
        );
        expect((await hv().domain('test')).currentMemoryKiB).toBe(1024 * 1024);
        expect((await config('test')).currentMemoryKiB).toBe(1024 * 1024);
        await expect(say('vm memory set test 9G')).rejects.toThrow('at most 8G while test runs');
        await say('vm create m1 template=debian12');
        expect((await say('vm memory set m1 2G')).reply).toBe(
          'm1 now has 2G memory (was 512M, maximum raised to 2G), in config',
        );
        expect((await config('m1')).memoryKiB).toBe(2 * 1024 * 1024);
        expect((await say('vm cpu set m1 3')).reply).toBe(
          'm1 now has 3 vCPUs (was 1, maximum raised to 3), in config',
        );
        expect((await config('m1')).vcpus).toBe(3);
      });
    });

    describe('users and groups', () => {
      test('only accounts of the host, only <access> changes, remove is exact', async () => {
        await say('vm create u1 template=debian12');
        const before = (await hv().dumpXml('u1', { inactive: true })).replace(
          /<virtbot:access[\s\S]*?(<\/virtbot:access>|\/>)/,
          '',
        );
        await expect(say('vm users add u1 root')).rejects.toThrow("no user 'root' on host test");
        expect((await say('vm users add u1 alice bob')).reply).toBe(
          'granted alice, bob access to u1; users now: alice, bob',
        );
        expect((await say('vm groups add u1 ops')).reply).toBe('granted ops access to u1; groups now: ops');
        const after = await hv().dumpXml('u1', { inactive: true });
        expect(after).toContain('<virtbot:user>alice</virtbot:user>');
        expect(after.replace(/<virtbot:access[\s\S]*?(<\/virtbot:access>|\/>)/, '')).toBe(before);
        expect((await say('vm users add u1 alice')).reply).toBe('nothing to change: u1 already has alice');
        expect((await say('vm users remove u1 alice')).reply).toBe(
          'revoked alice access from u1; users now: bob',
        );
        await expect(say('vm users remove u1 carol')).rejects.toThrow("u1 has no user 'carol'");
        expect((await config('u1')).metadata).toMatchObject({
          users: ['bob'],
          groups: ['ops'],
          nicModel: 'virtio',
        });
      });

      test('host accounts leave system accounts out', async () => {
        expect(await hv().users()).toEqual(['alice', 'bob']);
        expect(await hv().groups()).toEqual(['ops']);
      });
    });

    describe('life cycle', () => {
      test('create, start, stop, delete with or without disks', async () => {
        const created = await say('vm create web01 template=debian12');
        expect(created.reply).toMatch(
          /^created web01 from debian12 on test: 1 vCPU, 512M, disk 1G \(virtio, pool default-pool\), 1 NIC \(virtio\) 52:54:00(:[0-9a-f]{2}){3} on default; it is off: 'vm start web01'$/,
        );
        expect(created.detail).toBe(
          "Create guest 'web01' from template 'debian12' (debian 12, x86_64: NIC virtio, disk virtio)",
        );
        await expect(say('vm create web01 template=debian12')).rejects.toThrow(
          "a VM named 'web01' already exists on test",
        );
        expect((await say('vm start web01')).reply).toBe('started web01');
        expect(await hv().domainState('web01')).toBe('running');
        expect((await say('vm stop web01')).reply).toBe('stopped web01 (forced off)');
        await expect(say('vm shutdown web01')).rejects.toThrow('web01 is not running');
        expect((await say('vm delete web01')).reply).toBe(
          'deleted web01; kept /default-pool/web01-disk0.qcow2',
        );
        expect(await hv().exists('web01')).toBe(false);
        expect(await hv().volumeExists('default-pool', 'web01-disk0.qcow2')).toBe(true);
        await hv().deleteVolume('default-pool', 'web01-disk0.qcow2');
        await say('vm create web02 template=debian12');
        await say('vm start web02');
        expect((await say('vm delete web02 disks=remove')).reply).toBe(
          'deleted web02 (forced off first); removed /default-pool/web02-disk0.qcow2',
        );
        expect(await hv().volumeExists('default-pool', 'web02-disk0.qcow2')).toBe(false);
      });

      test('hostile names stop at the argument validators', async () => {
        for (const line of [
          'vm info "a;b"',
          'vm info "x\ny"',
          "vm create 'w$(id)' template=debian12",
          'vm start "--all"',
        ]) {
          await expect(say(line)).rejects.toThrow(/is not a valid VM name/);
        }
      });
    });

    describe('several hosts', () => {
      test('an unreachable host does not hide the VMs of the others', async () => {
        const two = new HostRegistry({
          hosts: [
            { name: 'down', uri: 'qemu+tcp://127.0.0.1:1/system' },
            { name: 'test', uri: 'test:///default' },
          ],
        });
        try {
          const run2 = makeRunner(two, [vm]);
          const listed = await run2('vm list');
          expect(listed.reply).toMatch(
            /^1 VM on 2 hosts: test \(running, 2 vCPUs, 2G\); not reachable: down \(/,
          );
          expect(listed.lines).toEqual(['test — host test, running, 2 vCPUs, 2G memory']);
          expect((await run2('vm info test')).host).toBe('test');
          await expect(run2('vm info nope')).rejects.toThrow(
            /no VM 'nope' on any host \(down, test\); could not ask down: /,
          );
          await expect(run2('vm list host=down')).rejects.toThrow(/listing VMs on down failed: /);
        } finally {
          await two.close();
        }
      });
    });

    describe('vm info', () => {
      test('shows what runs, and what changes at the next boot', async () => {
        await say('vm nic add test mac=52:54:00:00:00:09');
        await say('vm cpu set test 1');
        const info = await say('vm info test');
        expect(info.reply).toBe(
          'test on test: running, 1 vCPU (max 2), memory 2G (max 8G), 1 NIC, 1 disk; from the next boot: 2 NICs',
        );
        expect(info.lines).toContain(
          'OS: unknown, arch i686 (from virtbot metadata), NIC model e1000, disk bus virtio',
        );
      });
    });
  },
);
