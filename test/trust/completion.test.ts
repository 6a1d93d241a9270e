/**
 * Autocomplete offers only what the person may see, from the host they chose: through the Bot's
 * completion handler, on the example config's people and rules over two hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Place } from '../../src/core/types.js';
import { startBot, type TestBot } from '../harness/bot.js';
import { exampleConfig } from '../harness/example-config.js';
import { hostsWithAccounts } from '../harness/host-accounts.js';

const ops: Place = { transport: 'console', network: '', channel: '#kimchi-ops', private: false };

describe('autocomplete respects permissions and the chosen host', () => {
  let t: TestBot;
  beforeAll(async () => {
    const input = exampleConfig();
    t = await startBot(input, { hosts: hostsWithAccounts(input) });
  });
  afterAll(() => t.close());

  const names = async (who: string, path: string, arg: string, prefix = '', options = {}, place = ops) =>
    (
      await t.bot.complete({
        place,
        sender: who === 'mallory' ? { nick: 'mallory' } : { nick: who, local: true },
        path: path.split(' '),
        arg,
        prefix,
        options,
      })
    ).map((c) => c.value);

  it('offers VMs only from the hosts the person may list', async () => {
    expect(await names('alinefm', 'vm info', 'vm')).toEqual(['db-prod', 'test', 'web-prod']);
    // royce may not touch prod-1 (rule 'prod needs prod-admin'): its VMs are not offered.
    expect(await names('royce', 'vm info', 'vm')).toEqual(['test']);
    // someone the config does not know may list nothing.
    expect(await names('mallory', 'vm info', 'vm')).toEqual([]);
    // and nothing outside the ops channel, where VM commands are denied.
    expect(await names('alinefm', 'vm info', 'vm', '', {}, { ...ops, channel: '#random' })).toEqual([]);
  });

  it('follows the chosen host and the typed prefix', async () => {
    expect(await names('alinefm', 'vm info', 'vm', '', { host: 'prod-1' })).toEqual(['db-prod', 'web-prod']);
    expect(await names('alinefm', 'vm info', 'vm', 'W')).toEqual(['web-prod']);
    expect(await names('royce', 'vm info', 'vm', '', { host: 'prod-1' })).toEqual([]);
  });

  it('offers no existing names for a new VM, and the templates for its template', async () => {
    expect(await names('alinefm', 'vm create', 'name')).toEqual([]);
    expect(await names('alinefm', 'vm create', 'template')).toEqual(['debian12', 'win2019']);
  });

  it('completes hosts, networks, host users, and a chosen VM’s MACs and disks', async () => {
    expect(await names('royce', 'vm list', 'host')).toEqual(['lab']);
    expect(await names('alinefm', 'network list', 'host')).toEqual(['lab', 'prod-1']);
    expect(await names('alinefm', 'vm nic add', 'network', '', { host: 'prod-1' })).toEqual(['default']);
    expect(await names('alinefm', 'vm users add', 'names', '', { vm: 'test', host: 'lab' })).toEqual([
      'adamkingit',
      'alinefm',
      'royce',
      'shaohef',
    ]);
    expect(await names('alinefm', 'vm nic remove', 'mac', '', { vm: 'web-prod' })).toEqual([
      '52:54:00:aa:00:01',
    ]);
    expect(await names('royce', 'vm nic remove', 'mac', '', { vm: 'web-prod' })).toEqual([]);
    expect(await names('alinefm', 'vm disk remove', 'target', '', { vm: 'web-prod' })).toEqual(['vda']);
  });
});
