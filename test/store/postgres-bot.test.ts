/**
 * Bots on PostgreSQL through their whole pipeline (test/harness/bot.ts), each with its own
 * stores (pool, instance name) on one private server: a code asked for through one is confirmed
 * through the other, once; a meeting one started is continued by the other; and with PostgreSQL
 * stopped, changes are refused in one line before any host is touched, reads that need the
 * store say it is down, and everything works again once it is back, with no restart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { startStoredBot, type TestBot } from '../harness/bot.js';
import { pgStoreSection, postgresSkipReason, privatePostgresSuite } from '../harness/postgres.js';

const skip = postgresSkipReason();

describe.skipIf(skip !== undefined)(`bots on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const pg = privatePostgresSuite({ beforeAll, afterAll }, 'bots');
  const bots: TestBot[] = [];
  afterEach(async () => {
    for (const b of bots.splice(0)) await b.close();
  });

  const config = (url: string, instance: string): ConfigInput => ({
    hosts: [{ name: 'lab', uri: 'test:///default' }],
    users: { alice: { roles: ['admin'] }, bob: { roles: ['admin'] } },
    roles: { admin: { permissions: ['*'] } },
    store: pgStoreSection(url, instance),
  });

  async function bot(url: string, instance: string): Promise<TestBot> {
    const t = await startStoredBot(config(url, instance), { meetings: true });
    bots.push(t);
    return t;
  }

  it('confirms through one bot a code asked for through the other, exactly once', async () => {
    const url = await pg.database();
    const [a, b] = [await bot(url, 'one'), await bot(url, 'two')];
    const asked = await a.say('vm stop test', 'alice');
    const code = asked.find((r) => r.confirmCode)?.confirmCode;
    expect(code).toMatch(/^[A-Z2-9]{6}$/);
    const answers = await Promise.all([
      b.text(`confirm ${code}`, 'alice'),
      a.text(`confirm ${code}`, 'alice'),
      b.text(`confirm ${code}`, 'alice'),
    ]);
    expect(answers.filter((x) => /stopped|shut ?off|destroyed/i.test(x)).length).toBe(1);
    expect(answers.filter((x) => /no pending command has code/.test(x)).length).toBe(2);
    // Both bots read one record: the stop, once, with its outcome.
    const stops = (await a.records()).filter((r) => r.path === 'vm.stop' && r.kind === 'outcome');
    expect(stops.map((r) => r.outcome)).toEqual(['ok']);
    expect((await b.records()).length).toBe((await a.records()).length);
  });

  it('refuses changes while PostgreSQL is down, says reads cannot be served, and recovers by itself', async () => {
    const url = await pg.database();
    const t = await bot(url, 'solo');
    const macs = async () =>
      (await t.bot.hosts.get('lab').domain('test', { inactive: true })).nics.map((n) => n.mac);
    expect(await t.text('history', 'alice')).toBeTruthy();
    const before = await macs();
    await pg.server.stop();
    try {
      // The answer is one line (an admin also hears, once, that the audit log is unavailable).
      const first = async (text: string) => {
        const [reply] = await t.say(text, 'alice');
        expect(reply!.lines ?? []).toEqual([]);
        expect(reply!.text).not.toContain('\n');
        expect(reply!.text).not.toMatch(/\n|\bat .*\.js:\d+/);
        return reply!.text;
      };
      expect(await first('vm nic add test network=default mac=52:54:00:0e:0e:01')).toMatch(
        /^refused: the audit log cannot record this command, so it was not run \(the audit store cannot record it: the PostgreSQL store is unreachable \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)\)$/,
      );
      expect(await first('history vm=test')).toMatch(/^the store is down: /);
      expect(await first('vm stop test')).toMatch(/^the store is down: .*nothing was done/);
      expect(await first('vm nic add test network=default mac=52:54:00:0e:0e:02')).toMatch(/^refused: /);
      expect(await macs()).toEqual(before);
      expect(await t.bot.hosts.get('lab').domainState('test')).toBe('running');
    } finally {
      await pg.server.start();
    }
    // No restart: the next command runs and is recorded.
    await expect
      .poll(() => t.text('vm nic add test network=default mac=52:54:00:0e:0e:01', 'alice'), {
        timeout: 15_000,
      })
      .toContain('added NIC 52:54:00:0e:0e:01');
    const records = await t.records();
    const outcome = records.find((r) => r.kind === 'outcome' && r.path === 'vm.nic.add');
    expect(outcome).toMatchObject({ outcome: 'ok' });
    expect(await t.text('history vm=test', 'alice')).toContain('vm nic add');
  });

  it('finishes at start-up the intents a previous run under the same instance name left open', async () => {
    const url = await pg.database();
    const first = await bot(url, 'same');
    const intent = await first.bot.audit.begin({
      transport: 'console',
      network: '',
      channel: '#ops',
      user: 'alice',
      nick: 'alice',
      proof: 'local',
      command: 'vm cpu set test 1',
      path: 'vm.cpu.set',
      host: 'lab',
      vm: 'test',
    });
    // The process dies: its stores go (the intent stays open), nothing is finished.
    await first.bot.stores.close();
    const again = await bot(url, 'same');
    const outcome = (await again.records()).find((r) => r.kind === 'outcome' && r.intent === intent);
    expect(outcome).toMatchObject({ outcome: 'unknown' });
    expect(outcome!.detail).toMatch(
      /virtbot stopped before the outcome was recorded; the host shows: checked: test on lab is running/,
    );
  });
});
