import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { group as host } from '../../commands/host.js';
import { group as network } from '../../commands/network.js';
import { group as template } from '../../commands/template.js';
import { group as version } from '../../commands/version.js';
import { group as vm } from '../../commands/vm.js';
import { demoConfig } from '../../src/config/demo.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { NO_VIRSH, NO_VIRSH_REASON } from './have-virsh.js';
import { makeRunner } from './run-command.js';

describe.skipIf(NO_VIRSH)(NO_VIRSH ? `VM commands — ${NO_VIRSH_REASON}` : 'VM commands', () => {
  const GROUPS = [vm, host, network, template, version];
  let hosts: HostRegistry;
  let run: ReturnType<typeof makeRunner>;

  beforeEach(() => {
    // A fresh registry: a new virsh process, so a fresh test:///default.
    hosts = new HostRegistry(demoConfig());
    run = makeRunner(hosts, GROUPS);
  });
  afterEach(async () => {
    await hosts.close();
  });

  describe('declared examples hold on a fresh test:///default', () => {
    for (const g of GROUPS) {
      for (const spec of g.commands) {
        for (const example of spec.examples) {
          test(`${example.input} → ${String(example.reply)}`, async () => {
            if (spec.destructive) return; // the pipeline asks for confirmation first
            const out = await run(example.input).catch((e: Error) => ({ reply: e.message }));
            if (typeof example.reply === 'string') expect(out.reply).toContain(example.reply);
            else expect(out.reply).toMatch(example.reply);
          });
        }
      }
    }
  });

  test('vm list shows name, host, state, vCPUs, memory', async () => {
    const out = await run('vm list');
    expect(out.lines).toEqual(['test — host test, running, 2 vCPUs, 2G memory']);
  });

  test('vm info on an unknown VM is a clear failure', async () => {
    await expect(run('vm info nope')).rejects.toThrow("no VM 'nope' on host test");
  });
});
