/**
 * End to end, on real QEMU behind sshd: the limits a change is checked against (the machine
 * type's vCPU limit from domcapabilities, the host's CPUs and memory, a pool's free space, who
 * uses a volume, whether a network is active, login.defs), lowering maxima while a VM is off;
 * and a host whose SSH key is refused: down at once, said plainly, never slowing the good host.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HostDownError } from '../../src/libvirt/health.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { checkVcpus, checkVolumeDelete, checkVolumeSize, planVcpus } from '../../src/libvirt/limits.js';
import { plainError } from '../../src/libvirt/virsh/errors.js';
import { dumpxml, env, removeVm, skipReason, sshHost, tinyVm, virsh } from './env.js';

const why = skipReason();

describe.skipIf(why !== undefined)(
  why ? `limits and health — skipped: ${why}` : 'limits and health on QEMU',
  () => {
    const vm = `vblim-${process.pid}-${Date.now().toString(36)}`;
    const twin = `${vm}-b`;
    const volume = `${vm}-shared.qcow2`;
    let registry: HostRegistry;
    beforeAll(async () => {
      registry = new HostRegistry({ hosts: [sshHost()] });
      await tinyVm(vm, false);
    });
    afterAll(async () => {
      await registry.close();
      await removeVm(vm);
      await removeVm(twin);
      await virsh('vol-delete', '--pool', env!.pool, volume).catch(() => undefined);
    });

    test("vCPUs: the machine type's limit (domcapabilities) and the host's CPUs; the maximum comes down again", async () => {
      const hv = registry.get('e2e');
      const view = await hv.domain(vm, { inactive: true });
      const limits = await hv.vcpuLimits(view);
      const cpus = Number(/^CPU\(s\):\s*(\d+)/m.exec(await virsh('nodeinfo'))![1]);
      expect(limits).toEqual({ machineMax: 255, machine: `machine ${view.machine}`, hostCpus: cpus });
      expect(checkVcpus(view, limits, 4096, false)).toBe(
        `${vm} can have at most 255 vCPUs (machine ${view.machine}'s limit)`,
      );
      // Raise, then lower: the maximum follows while the VM is off, and the VM still starts.
      await hv.setMaxVcpus(vm, 2);
      await hv.setVcpus(vm, 2, { live: false, config: true });
      const raised = await hv.domain(vm, { inactive: true });
      expect(raised.maxVcpus).toBe(2);
      const plan = planVcpus(raised, 1, false);
      expect(plan).toEqual({ maximum: 1, count: 1 });
      await hv.setVcpus(vm, 1, { live: false, config: true });
      await hv.setMaxVcpus(vm, plan.maximum!);
      expect(await dumpxml(vm, true)).toMatch(/<vcpu placement='static'>1<\/vcpu>/);
      await virsh('start', vm);
      await virsh('destroy', vm);
    }, 60_000);

    test('memory and pools: the host’s memory, the pool’s free space; 100T does not fit', async () => {
      const hv = registry.get('e2e');
      const host = await hv.hostResources();
      expect(host.memoryKiB).toBe(Number(/^Memory size:\s*(\d+)/m.exec(await virsh('nodeinfo'))![1]));
      const space = await hv.poolSpace(env!.pool);
      const available = Number(
        /^Available:\s*(\d+)/m.exec(await virsh('pool-info', '--bytes', env!.pool))![1],
      );
      expect(space.state).toBe('running');
      // Free space moves with the disk; it is within a few MB of the observer's look.
      expect(Math.abs(space.availableBytes - available)).toBeLessThan(64 * 1024 ** 2);
      expect(checkVolumeSize(space, 100 * 1024 ** 3)).toMatch(
        new RegExp(`^storage pool ${env!.pool} has \\d+(\\.\\d+)?[MGT] free: 100T does not fit$`),
      );
    });

    test('a volume two VMs use is found in both (so a delete can be refused)', async () => {
      const hv = registry.get('e2e');
      await virsh('vol-create-as', env!.pool, volume, '16M', '--format', 'qcow2');
      const path = (await virsh('vol-path', '--pool', env!.pool, volume)).trim();
      for (const name of [vm, twin]) {
        if (name === twin) await tinyVm(twin, false);
        await virsh('attach-disk', name, path, 'vdb', '--config', '--subdriver', 'qcow2');
      }
      const users = (await hv.volumeUsers({ path })).sort();
      expect(users).toEqual([vm, twin].sort());
      expect(checkVolumeDelete(path, users, vm)).toBe(`${path} is also a disk of ${twin}: it is kept`);
    });

    test('networks: active, inactive, absent', async () => {
      const hv = registry.get('e2e');
      expect(await hv.networkActive(env!.network)).toBe(true);
      expect(await hv.networkActive(env!.inactiveNetwork!)).toBe(false);
      expect(await hv.networkActive('vbe2e-nope')).toBeUndefined();
    });

    test("host accounts follow the host's login.defs (libvirt-qemu is not offered)", async () => {
      const hv = registry.get('e2e');
      const ranges = await hv.accountRanges();
      expect(ranges).toMatchObject({ uid: { min: 1000, max: 60000 }, source: '/etc/login.defs' });
      const users = await hv.users();
      expect(users).toEqual(expect.arrayContaining(env!.grantUsers));
      expect(users).not.toContain('libvirt-qemu');
    });

    test('a host that refuses the key is down at once, says which user and key, and the good host answers meanwhile', async () => {
      const two = new HostRegistry(
        {
          hosts: [
            sshHost({ privateKey: { file: env!.wrongKey! }, passphrase: undefined }, 'lab'),
            sshHost({}, 'e2e'),
          ],
        },
        { health: { backoffMs: 60_000 } },
      );
      try {
        const views = await two.connectAll();
        expect(views.map((v) => [v.host, v.state])).toEqual([
          ['lab', 'down'],
          ['e2e', 'up'],
        ]);
        expect(views[0]).toMatchObject({
          code: 'SSH_AUTH',
          reason: `SSH login as ${env!.ssh.user}@127.0.0.1:${env!.ssh.port} with key ${env!.wrongKey} was refused (the host does not accept that key)`,
        });
        const lab = two.get('lab');
        const before = lab.backend.shell.starts;
        const answers = await Promise.allSettled([lab.listDomains(), two.get('e2e').listDomains()]);
        expect(answers[0].status).toBe('rejected');
        const error = (answers[0] as PromiseRejectedResult).reason;
        expect(error).toBeInstanceOf(HostDownError);
        expect(plainError(error).message).toMatch(
          /^lab unreachable since \d\d:\d\d, next try in \d+ s: SSH login as virtbot-e2e@127\.0\.0\.1:\d+ with key .*wrong_ed25519 was refused/,
        );
        // Nothing was tried on the broken host for that call.
        expect(lab.backend.shell.starts).toBe(before);
        expect(answers[1].status).toBe('fulfilled');
        expect(two.health().map((h) => h.state)).toEqual(['down', 'up']);
      } finally {
        await two.close();
      }
    });
  },
);
