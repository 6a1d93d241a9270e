/**
 * `Hypervisor.listDomains` on libvirt's test driver: a constant number of round trips whatever
 * the number of VMs, transient VMs marked, names virtbot cannot address listed and marked.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Hypervisor } from '../../src/libvirt/hypervisor.js';
import { NO_VIRSH, NO_VIRSH_REASON, testHypervisor } from './have-virsh.js';

function domainXml(name: string, memoryMiB = 64, vcpus = 1): string {
  return `<domain type='test'><name>${name}</name><memory unit='MiB'>${memoryMiB}</memory><vcpu>${vcpus}</vcpu><os><type arch='i686'>hvm</type></os></domain>`;
}

describe.skipIf(NO_VIRSH)(NO_VIRSH ? `listing VMs — ${NO_VIRSH_REASON}` : 'listing VMs', () => {
  let hv: Hypervisor;
  let batches: number;
  beforeEach(() => {
    hv = testHypervisor();
    batches = 0;
    const shell = hv.backend.shell;
    const runBatch = shell.runBatch.bind(shell);
    const run = shell.run.bind(shell);
    shell.runBatch = (commands, options) => {
      batches++;
      return runBatch(commands, options);
    };
    shell.run = (command, args, options) => {
      batches++;
      return run(command, args, options);
    };
  });
  afterEach(() => hv.close());

  test('state, vCPUs, memory, persistence and addressability of every VM', async () => {
    await hv.define(domainXml('off01', 128, 2));
    await hv.backend.withTempFile(domainXml('lv sp'), (file) =>
      hv.virsh('define', [{ option: '--file', value: file }]),
    );
    await hv.backend.withTempFile(domainXml('tmp01', 32), (file) =>
      hv.virsh('create', [{ option: '--file', value: file }]),
    );
    batches = 0;
    const list = await hv.listDomains();
    expect(batches).toBe(2);
    const byName = new Map(list.map((d) => [d.name, d]));
    expect(byName.get('test')).toMatchObject({
      state: 'running',
      vcpus: 2,
      memoryKiB: 2 * 1024 * 1024,
      maxMemoryKiB: 8 * 1024 * 1024,
      persistent: true,
      addressable: true,
    });
    expect(byName.get('off01')).toMatchObject({
      state: 'shut off',
      vcpus: 2,
      maxMemoryKiB: 128 * 1024,
      persistent: true,
    });
    expect(byName.get('tmp01')).toMatchObject({ state: 'running', persistent: false, addressable: true });
    const odd = byName.get('lv sp');
    expect(odd).toMatchObject({ state: 'shut off', addressable: false });
    expect(odd?.unaddressable).toMatch(/"lv sp" is not a valid VM name/);
  });

  test('the number of round trips does not grow with the number of VMs', async () => {
    for (let i = 0; i < 30; i++) await hv.define(domainXml(`many-${i}`));
    batches = 0;
    const list = await hv.listDomains();
    expect(list).toHaveLength(31);
    expect(batches).toBe(2);
  });
});
