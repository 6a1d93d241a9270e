/** Limits asked of the host before a change, and the refusals built on them, on libvirt's test driver. */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Hypervisor } from '../../src/libvirt/hypervisor.js';
import {
  checkMemory,
  checkNetwork,
  checkVcpus,
  checkVolumeDelete,
  checkVolumeSize,
  planMemory,
  planVcpus,
} from '../../src/libvirt/limits.js';
import { NO_VIRSH, NO_VIRSH_REASON, testHypervisor } from './have-virsh.js';

describe.skipIf(NO_VIRSH)(NO_VIRSH ? `limits — ${NO_VIRSH_REASON}` : 'limits', () => {
  let hv: Hypervisor;
  beforeEach(() => {
    hv = testHypervisor();
  });
  afterEach(() => hv.close());

  test('vCPUs: the driver’s limit and the host’s CPUs; a typo like 4096 is refused before anything changes', async () => {
    const view = await hv.domain('test', { inactive: true });
    const limits = await hv.vcpuLimits(view);
    // The test driver has no domcapabilities: its maxvcpus, and nodeinfo's 16 CPUs.
    expect(limits).toEqual({ machineMax: 32, machine: undefined, hostCpus: 16 });
    expect(checkVcpus(view, limits, 4096, false)).toBe(
      "test can have at most 32 vCPUs (its machine type's limit)",
    );
    expect(checkVcpus(view, limits, 20, false)).toBe('the host has 16 CPUs: 20 vCPUs would overcommit it');
    expect(checkVcpus(view, limits, 4, true)).toMatch(/^at most 2 vCPUs while test runs/);
    expect(checkVcpus(view, limits, 2, true)).toBeUndefined();
    expect(checkVcpus(view, limits, 8, false)).toBeUndefined();
  });

  test('memory: 1P is more than the host has; 32M too little', async () => {
    const view = await hv.domain('test', { inactive: true });
    const host = await hv.hostResources();
    expect(host).toEqual({ cpus: 16, memoryKiB: 3145728 });
    expect(checkMemory(view, host, 1024 ** 4, false)).toBe(
      'the host has 3G of memory: 1P is more than all of it',
    );
    expect(checkMemory(view, host, 32 * 1024, false)).toMatch(/too little memory/);
    expect(checkMemory(view, host, 1024 * 1024, false)).toBeUndefined();
  });

  test('maxima follow the count down as well as up while the VM is off, and can be lowered', async () => {
    const view = await hv.domain('test', { inactive: true });
    expect(planVcpus(view, 1, false)).toEqual({ maximum: 1, count: 1 });
    expect(planVcpus(view, 1, true)).toEqual({ count: 1 });
    expect(planMemory(view, 1024 * 1024, false)).toEqual({ maximumKiB: 1024 * 1024, kib: 1024 * 1024 });
    await hv.define(
      "<domain type='test'><name>off1</name><memory unit='GiB'>4</memory><vcpu>8</vcpu><os><type arch='i686'>hvm</type></os></domain>",
    );
    await hv.setMaxVcpus('off1', 2);
    await hv.setMaxMemory('off1', 512 * 1024, { live: false, config: true });
    expect(await hv.domain('off1', { inactive: true })).toMatchObject({ maxVcpus: 2, memoryKiB: 512 * 1024 });
  });

  test('a pool’s free space; a 100T volume does not fit', async () => {
    const space = await hv.poolSpace('default-pool');
    expect(space).toEqual({
      pool: 'default-pool',
      state: 'running',
      capacityBytes: 107374182400,
      allocationBytes: 0,
      availableBytes: 107374182400,
    });
    expect(checkVolumeSize(space, 100 * 1024 ** 3)).toBe(
      'storage pool default-pool has 100G free: 100T does not fit',
    );
    expect(checkVolumeSize(space, 10 * 1024 ** 2)).toBeUndefined();
  });

  test('which domains use a disk: a shared volume is not deleted', async () => {
    await hv.define(
      "<domain type='test'><name>twin</name><memory unit='MiB'>64</memory><os><type arch='i686'>hvm</type></os><devices><disk type='file' device='disk'><source file='/guest/diskimage1'/><target dev='vdb' bus='virtio'/></disk></devices></domain>",
    );
    const users = await hv.volumeUsers({ path: '/guest/diskimage1' });
    expect(users.sort()).toEqual(['test', 'twin']);
    expect(checkVolumeDelete('/guest/diskimage1', users, 'twin')).toBe(
      '/guest/diskimage1 is also a disk of test: it is kept',
    );
    expect(
      checkVolumeDelete('/guest/other', await hv.volumeUsers({ path: '/guest/other' }), 'twin'),
    ).toBeUndefined();
  });

  test('a network must exist and be active', async () => {
    expect(await hv.networkActive('default')).toBe(true);
    expect(await hv.networkActive('nope')).toBeUndefined();
    await hv.withTempFile('<network><name>idle</name><bridge name="vbidle0"/></network>', (file) =>
      hv.virsh('net-define', [{ option: '--file', value: file }]),
    );
    expect(await hv.networkActive('idle')).toBe(false);
    expect(checkNetwork('idle', false)).toMatch(/^network 'idle' is not active: start it first/);
    expect(checkNetwork('nope', undefined)).toMatch(/^no network 'nope'/);
    expect(checkNetwork('default', true)).toBeUndefined();
  });
});
