import { afterEach, describe, expect, it } from 'vitest';
import { makeTestBot, type TestBot } from '../security/bot.js';

let t: TestBot;
afterEach(async () => t?.close());

describe('whoami', () => {
  it('names the identity, its proof, groups, roles and system account', async () => {
    t = await makeTestBot();
    const replies = await t.say('frank', 'whoami');
    expect(replies[0]!.text).toBe('you are frank, proven by the local console — groups: devs — roles: none');
    const alice = await t.say('alice', 'whoami');
    expect(alice.map((r) => r.text)).toEqual([
      'you are alice, proven by the local console — groups: none — roles: ops — system account: alice',
      'role ops: probe.* whoami history',
    ]);
  });

  it('tells an unproven sender that they are not identified, whatever their nick', async () => {
    t = await makeTestBot();
    expect(await t.text('alice', 'whoami', { sender: { local: false, hostmask: 'alice!a@b' } })).toBe(
      'you are not identified (nick alice: no services account, Discord id or allowed hostmask of a configured user) — roles: none',
    );
  });
});

describe('permissions check', () => {
  const rules = {
    rules: [
      {
        name: 'prod',
        permission: 'probe.*',
        host: 'prod-*',
        effect: 'require-role' as const,
        roles: ['admin'],
      },
      {
        name: 'big',
        permission: 'probe.create',
        args: { memory: '>16G' },
        effect: 'require-approval' as const,
      },
      { name: 'private-notes', permission: 'probe.note', channels: ['private'], effect: 'allow' as const },
    ],
  };

  it('explains allowed and denied decisions with the deciding rule or role', async () => {
    t = await makeTestBot({ config: rules });
    expect(await t.text('dave', 'permissions check alice probe info web01')).toBe(
      'alice may run probe info in #ops: role ops: probe.* grants probe.info',
    );
    expect(await t.text('dave', 'permissions check alice "probe info web01 host=prod-1"')).toBe(
      'alice may not run probe info in #ops: rule prod (probe.* on host prod-*): probe.info needs role admin, which alice does not hold',
    );
    expect(await t.text('dave', 'permissions check alice probe delete web01')).toBe(
      "alice may run probe delete in #ops: role ops: probe.* grants probe.delete (then 'confirm CODE' by alice)",
    );
    expect(await t.text('dave', "permissions check alice 'probe create big memory=32G'")).toBe(
      "alice may run probe create in #ops: role ops: probe.* grants probe.create; rule big (probe.create with memory>16G): probe.create needs approval by a holder of role approver (then needs approval by a holder of role approver, then 'confirm CODE' by alice)",
    );
    expect(await t.text('dave', 'permissions check frank probe note hello')).toBe(
      'frank may not run probe note in #ops: no role of frank grants probe.note',
    );
    expect(await t.text('dave', 'permissions check frank probe note hello in=private')).toBe(
      'frank may run probe note in private: rule private-notes (probe.note in private) allows probe.note',
    );
    expect(await t.text('dave', 'permissions check anonymous probe info web01')).toBe(
      'anonymous may not run probe info in #ops: no role of anonymous (not identified) grants probe.info',
    );
    expect(await t.text('dave', 'permissions check anonymous whoami')).toBe(
      'anonymous may run whoami: whoami is open to everyone',
    );
    expect(t.runs).toEqual([]);
  });

  it('answers bad questions with a one-line error and runs nothing', async () => {
    t = await makeTestBot({ config: rules });
    expect(await t.text('dave', 'permissions check mallory probe info web01')).toBe(
      "no user 'mallory' in the config (users: alice, bob, carol, dave, erin, frank; or 'anonymous')",
    );
    expect(await t.text('dave', 'permissions check alice probe info "web;01"')).toMatch(
      /^cannot judge 'probe info web;01': 'web;01' is not a valid VM name/,
    );
    expect(await t.text('dave', 'permissions check alice probe info web01 in=ops')).toBe(
      "'ops' is not a channel: use in=#channel or in=private",
    );
    expect(await t.text('dave', 'permissions check alice prob')).toMatch(
      /^cannot judge 'prob': unknown command 'prob'/,
    );
    expect(t.runs).toEqual([]);
  });

  it('is itself a permission', async () => {
    t = await makeTestBot();
    expect(await t.text('alice', 'permissions check alice probe info web01')).toBe(
      'denied: no role of alice grants permissions.check',
    );
  });

  it('lists the rules', async () => {
    t = await makeTestBot({ config: rules });
    const replies = await t.say('dave', 'permissions rules');
    expect(replies.map((r) => r.text)).toEqual([
      '3 rules; the most specific matching one decides, else roles, else no',
      'rule prod (probe.* on host prod-*): require-role admin',
      'rule big (probe.create with memory>16G): require-approval by approver',
      'rule private-notes (probe.note in private): allow',
    ]);
  });
});

describe('history', () => {
  it('answers from the audit log, newest first, denials included, naming the resolved identity', async () => {
    t = await makeTestBot();
    await t.say('alice', 'probe info web01');
    t.clock.now = new Date(t.clock.now.getTime() + 1000);
    await t.say('bob', 'probe start web01');
    t.clock.now = new Date(t.clock.now.getTime() + 1000);
    await t.say('alice', 'probe info web02 host=prod-1');
    t.clock.now = new Date(t.clock.now.getTime() + 1000);
    await t.say('alice', 'probe info web01', { sender: { local: false } });
    t.clock.now = new Date(t.clock.now.getTime() + 1000);
    const all = await t.say('alice', 'history');
    expect(all.map((r) => r.text)).toEqual([
      '4 records, newest first:',
      '2026-11-25 10:00:03Z [test/web01] alice (unidentified): probe info web01 → denied: no role of alice (not identified) grants probe.info',
      '2026-11-25 10:00:02Z [prod-1/web02] alice: probe info web02 host=prod-1 → ok: ran probe info',
      '2026-11-25 10:00:01Z [test/web01] bob: probe start web01 → denied: no role of bob grants probe.start',
      '2026-11-25 10:00:00Z [test/web01] alice: probe info web01 → ok: ran probe info',
    ]);
    expect((await t.say('alice', 'history vm=web01 limit=2')).map((r) => r.text)).toEqual([
      '2 records, newest first:',
      expect.stringContaining('alice (unidentified): probe info web01'),
      expect.stringContaining('bob: probe start web01'),
    ]);
    expect((await t.say('alice', 'history host=prod-1')).length).toBe(2);
    expect((await t.say('alice', 'history user=bob')).map((r) => r.text)[1]).toContain(
      'bob: probe start web01',
    );
    expect(await t.text('alice', 'history since=2026-11-26')).toBe('no audit records match');
    expect(await t.text('alice', 'history since=2s')).toMatch(/^\d+ records?, newest first/);
  });

  it('rejects bad filters with a one-line error', async () => {
    t = await makeTestBot();
    expect(await t.text('alice', 'history vm=web;01')).toMatch(/^'web;01' is not a valid VM name/);
    expect(await t.text('alice', 'history limit=1000')).toMatch(/^'1000' is too large: at most 100/);
    expect(await t.text('alice', 'history since=yesterday')).toMatch(/^'yesterday' is not a time/);
    expect(await t.text('alice', 'history host=nope')).toMatch(/^unknown host 'nope'/);
  });

  it('is itself a permission', async () => {
    t = await makeTestBot();
    expect(await t.text('bob', 'history')).toBe('denied: no role of bob grants history');
  });
});
