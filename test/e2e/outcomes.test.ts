/**
 * End to end, on real QEMU behind sshd: the outcome of a device change is told truthfully when
 * QEMU is stopped (SIGSTOP) and the SSH session is killed or the command times out mid-change —
 * `in-progress` while libvirt still works on it, and `settled` once it is over — and a detach the
 * guest has not released is `in-progress` too. The event stream is seen live.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { applyDevice } from '../../src/libvirt/changes.js';
import { nicElement } from '../../src/libvirt/domain.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import type { SshBackend } from '../../src/libvirt/ssh.js';
import {
  dumpxml,
  env,
  jobHeld,
  skipReason,
  sshHost,
  tinyVm,
  until,
  virsh,
  withQemuStopped,
  withTimeout,
} from './env.js';

const why = skipReason();

describe.skipIf(why !== undefined)(
  why ? `device outcomes on QEMU — skipped: ${why}` : 'device outcomes on QEMU',
  () => {
    const vm = `vbout-${process.pid}-${Date.now().toString(36)}`;
    const running = { running: true, persistent: true };
    let remove: () => Promise<void> = async () => {};
    const registries: HostRegistry[] = [];

    beforeAll(async () => {
      remove = await tinyVm(vm);
    });
    afterAll(async () => {
      await Promise.allSettled(registries.map((r) => r.close()));
      await remove();
    });

    function registry(options: ConstructorParameters<typeof HostRegistry>[1] = {}) {
      const r = new HostRegistry({ hosts: [sshHost()] }, options);
      registries.push(r);
      return r;
    }

    const nic = (mac: string) => nicElement({ network: env!.network, mac, model: 'virtio' });
    const has = async (mac: string, inactive: boolean) => (await dumpxml(vm, inactive)).includes(`'${mac}'`);

    test('the event stream reports a hotplugged NIC as device-added', async () => {
      const hv = registry().get('e2e');
      expect((await hv.connect()).state).toBe('up');
      expect(hv.events.available).toBe(true);
      const added = hv.events.waitFor((e) => e.type === 'device-added' && e.domain === vm, 30_000);
      const applied = await applyDevice(hv, vm, running, 'attach', nic('52:54:00:0e:01:01'), () => {});
      expect(applied.state).toBe('done');
      expect(await added).toMatchObject({ type: 'device-added', domain: vm });
    });

    test('QEMU stopped and the SSH session killed mid-attach: in progress, then done once QEMU runs again', async () => {
      const hv = registry().get('e2e');
      await hv.connect();
      const mac = '52:54:00:0e:01:02';
      const outcome = await withQemuStopped(vm, async (resume) => {
        const change = applyDevice(hv, vm, running, 'attach', nic(mac), () => {});
        // libvirt has taken the change (it holds the domain's job, QEMU cannot answer): cut the session.
        await until('libvirt to hold the job', () => jobHeld(vm));
        (hv.backend as SshBackend).session.drop();
        const applied = await change;
        expect(applied.state).toBe('in-progress');
        expect(applied.pending).toBe(
          'the connection dropped while attaching a device; libvirt is still working on it',
        );
        // Not in the config yet: a check of the config alone would have said "not done".
        expect(await has(mac, true)).toBe(false);
        expect(hv.pendingChanges(vm).map((p) => p.key)).toEqual([{ kind: 'interface', mac }]);
        resume();
        return withTimeout(applied.settled!, 60_000, 'the attach to settle');
      });
      expect(outcome).toEqual({
        state: 'done',
        live: true,
        config: true,
        message: `NIC ${mac} is now attached to ${vm} (live and in config)`,
      });
      expect(await has(mac, false)).toBe(true);
      expect(await has(mac, true)).toBe(true);
      expect(hv.pendingChanges(vm)).toEqual([]);
    }, 120_000);

    test('QEMU stopped and the command timing out mid-attach: in progress, then done', async () => {
      const hv = registry({ timeoutMs: 3000 }).get('e2e');
      await hv.connect();
      const mac = '52:54:00:0e:01:03';
      const outcome = await withQemuStopped(vm, async (resume) => {
        const applied = await applyDevice(hv, vm, running, 'attach', nic(mac), () => {});
        expect(applied.state).toBe('in-progress');
        expect(applied.pending).toMatch(/libvirt is still working on it$/);
        resume();
        return withTimeout(applied.settled!, 60_000, 'the attach to settle');
      });
      expect(outcome.state).toBe('done');
      expect(await has(mac, true)).toBe(true);
    }, 120_000);

    test('a detach the guest has not released is in progress; it settles when the device goes (here: the VM stops)', async () => {
      const hv = registry().get('e2e');
      await hv.connect();
      const mac = '52:54:00:0e:01:04';
      expect((await applyDevice(hv, vm, running, 'attach', nic(mac), () => {})).state).toBe('done');
      const found = (await hv.domain(vm)).nics.find((n) => n.mac === mac)!;
      const applied = await applyDevice(hv, vm, running, 'detach', found.element, () => {});
      expect(applied.state).toBe('in-progress');
      expect(applied.pending).toBe('the guest has not released it yet');
      // Gone from the config, still in the running VM.
      expect(await has(mac, true)).toBe(false);
      expect(await has(mac, false)).toBe(true);
      expect(hv.pendingChanges(vm).map((p) => p.key)).toEqual([{ kind: 'interface', mac }]);
      await virsh('destroy', vm);
      // QEMU, exiting, deletes the device (libvirt's device-removed) or libvirt reports it stopped first.
      const settled = await withTimeout(applied.settled!, 30_000, 'the detach to settle');
      expect(settled).toMatchObject({ state: 'done', live: true, config: true });
      expect(settled.message).toMatch(
        new RegExp(`^NIC ${mac} (was released by ${vm}'s guest: it is gone|is gone: ${vm} stopped)$`),
      );
      expect(hv.pendingChanges(vm)).toEqual([]);
      await virsh('start', vm);
    }, 60_000);
  },
);
