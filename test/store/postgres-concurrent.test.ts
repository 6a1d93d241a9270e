/**
 * Two virtbots on one PostgreSQL change one VM at once, on the real libvirtd of the end-to-end
 * environment (libvirt's test driver keeps its state per connection, so two bots on
 * test:///default would not share a host): NIC adds and user grants through both, each bot
 * with its own stores and SSH session. The per-VM advisory lock makes them take turns; none is
 * lost, live or in the persistent config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { readVmMetadata } from '../../src/libvirt/metadata.js';
import { parseXml } from '../../src/libvirt/xml.js';
import { dumpxml, env, skipReason, sshHost, tinyVm } from '../e2e/env.js';
import { startStoredBot, type TestBot } from '../harness/bot.js';
import { pgStoreSection, postgresSkipReason, privatePostgresSuite } from '../harness/postgres.js';

const skip = postgresSkipReason() ?? skipReason();

describe.skipIf(skip !== undefined)(
  `two bots change one VM at once${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const pg = privatePostgresSuite({ beforeAll, afterAll }, 'concurrent');
    const vm = `vbpg-${process.pid}-${Date.now().toString(36)}`;
    let remove: () => Promise<void> = async () => {};
    const bots: TestBot[] = [];
    beforeAll(async () => {
      remove = await tinyVm(vm);
    }, 120_000);
    afterAll(async () => {
      for (const b of bots) await b.close();
      await remove();
    });

    async function bot(url: string, instance: string): Promise<TestBot> {
      const input: ConfigInput = {
        hosts: [sshHost()],
        users: { alice: { roles: ['admin'] } },
        roles: { admin: { permissions: ['*'] } },
        store: pgStoreSection(url, instance),
      };
      const t = await startStoredBot(input);
      bots.push(t);
      // Every time either bot holds the VM's lock across instances, noted, to show that they took turns.
      const locks = t.bot.stores.shared!.vmLocks;
      const take = locks.with.bind(locks);
      locks.with = (host, name, fn) =>
        take(host, name, async () => {
          const held = { bot: instance, vm: name, from: performance.now(), to: 0 };
          try {
            return await fn();
          } finally {
            held.to = performance.now();
            spans.push(held);
          }
        });
      return t;
    }

    const spans: { bot: string; vm: string; from: number; to: number }[] = [];

    it('adds every NIC and grants every user asked for through either bot', async () => {
      const url = await pg.database();
      const [a, b] = [await bot(url, 'one'), await bot(url, 'two')];
      const mac = (i: number) => `52:54:00:0d:${(0x10 + i).toString(16)}:01`;
      const [alice, bob] = env!.grantUsers;
      const answers = await Promise.all([
        ...[0, 1, 2, 3].map((i) => a.text(`vm nic add ${vm} network=${env!.network} mac=${mac(i)}`, 'alice')),
        ...[4, 5, 6, 7].map((i) => b.text(`vm nic add ${vm} network=${env!.network} mac=${mac(i)}`, 'alice')),
        a.text(`vm users add ${vm} ${alice}`, 'alice'),
        b.text(`vm users add ${vm} ${bob}`, 'alice'),
        b.text(`vm groups add ${vm} ${env!.grantGroup}`, 'alice'),
      ]);
      for (const [i, answer] of answers.slice(0, 8).entries())
        expect(answer).toContain(`added NIC ${mac(i)}`);
      for (const answer of answers.slice(8)) expect(answer).toMatch(/granted/);
      const macs = (xml: string) => [...xml.matchAll(/<mac address='([^']+)'/g)].map((m) => m[1]);
      const wanted = [0, 1, 2, 3, 4, 5, 6, 7].map(mac);
      for (const inactive of [false, true]) {
        const xml = await dumpxml(vm, inactive);
        expect(macs(xml)).toEqual(expect.arrayContaining(wanted));
        const meta = readVmMetadata(parseXml(xml), { mode: 'auto' });
        expect([...meta.users].sort()).toEqual([alice, bob].sort());
        expect([...meta.groups]).toEqual([env!.grantGroup]);
      }
      // Eleven changes, each under the VM's lock across instances, through both bots, never two at once.
      const held = spans.filter((x) => x.vm === vm).sort((x, y) => x.from - y.from);
      expect(held.length).toBe(11);
      expect(new Set(held.map((x) => x.bot))).toEqual(new Set(['one', 'two']));
      for (let i = 1; i < held.length; i++) expect(held[i]!.from).toBeGreaterThanOrEqual(held[i - 1]!.to);
      // One record per change, whichever bot made it; both read the same ones.
      const outcomes = (await a.records()).filter((r) => r.kind === 'outcome' && r.outcome === 'ok');
      expect(outcomes.filter((r) => r.path === 'vm.nic.add').length).toBe(8);
      expect((await b.records()).length).toBe((await a.records()).length);
    }, 180_000);
  },
);
