import { afterEach, describe, expect, it } from 'vitest';
import { makeTestBot, type TestBot } from '../security/bot.js';

let t: TestBot;
afterEach(async () => t?.close());

const approvalRules = {
  rules: [
    {
      name: 'big',
      permission: 'probe.create',
      args: { memory: '>16G' },
      effect: 'require-approval' as const,
    },
    {
      name: 'prod-delete',
      permission: 'probe.delete',
      host: 'prod-*',
      effect: 'require-approval' as const,
      approvers: ['admin'],
    },
  ],
};

async function code(nick: string, line: string, channel = '#ops'): Promise<string> {
  const replies = await t.say(nick, line, { channel });
  expect(replies[0]!.kind, replies[0]!.text).toBe('confirm');
  return replies[0]!.confirmCode!;
}

describe('approval by a second person', () => {
  it('needs an approver, then the requester confirms; every step is recorded', async () => {
    t = await makeTestBot({ config: approvalRules });
    const first = await t.say('alice', 'probe create big1 memory=32G');
    expect(first[0]!.text).toMatch(
      /^probe create needs approval \(rule big \(probe\.create with memory>16G\)\): a holder of role approver must type 'approve [A-Z2-9]{6}' here within 60 s, then you 'confirm [A-Z2-9]{6}'/,
    );
    const c = first[0]!.confirmCode!;
    expect(await t.text('alice', `confirm ${c}`)).toBe(
      `code ${c} is waiting for approval: a holder of role approver must type 'approve ${c}'`,
    );
    expect(t.runs).toEqual([]);
    expect(await t.text('carol', `approve ${c}`)).toBe(
      `approved probe create big1 memory=32G (code ${c}) for alice: they may now 'confirm ${c}' within 60 s`,
    );
    expect(t.runs).toEqual([]);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe create');
    expect(t.runs).toHaveLength(1);
    expect(t.runs[0]).toMatchObject({
      path: 'probe.create',
      user: 'alice',
      args: { vm: 'big1', memory: 32 * 1024 ** 2 },
    });
    const records = await t.records();
    expect(records.map((r) => [r.user, r.outcome, r.path])).toEqual([
      ['alice', 'pending', 'probe.create'],
      ['alice', 'invalid', 'confirm'],
      ['carol', 'approved', 'approve'],
      ['alice', 'ok', 'probe.create'],
    ]);
    expect(records[2]).toMatchObject({ vm: 'big1', host: 'test' });
    expect(records[3]!.command).toBe(`probe create big1 memory=32G (confirmed ${c}, approved by carol)`);
  });

  it('does not need approval below the threshold', async () => {
    t = await makeTestBot({ config: approvalRules });
    expect(await t.text('alice', 'probe create small memory=2G')).toBe('ran probe create');
  });

  it('refuses self-approval, approval without the role, by anonymous, and from another place', async () => {
    t = await makeTestBot({
      config: { ...approvalRules, users: { ...baseUsers(), alice: { roles: ['ops', 'approver'] } } },
    });
    const c = await code('alice', 'probe create big1 memory=32G');
    expect(await t.text('alice', `approve ${c}`)).toBe(
      'you asked for probe create big1 memory=32G: someone else must approve it',
    );
    expect(await t.text('bob', `approve ${c}`)).toBe(
      `approving code ${c} needs role approver, which bob does not hold`,
    );
    expect(await t.text('carol', `approve ${c}`, { sender: { local: false } })).toBe(
      'approving needs an identified user: log in to services first',
    );
    expect(await t.text('carol', `approve ${c}`, { channel: '#elsewhere' })).toBe(
      `code ${c} was issued in another conversation`,
    );
    expect(await t.text('alice', `confirm ${c}`)).toContain('is waiting for approval');
    expect(t.runs).toEqual([]);
    const denials = (await t.records()).filter((r) => r.path === 'approve');
    expect(denials.map((r) => r.outcome)).toEqual(['denied', 'denied', 'denied', 'denied']);
    expect(denials.every((r) => r.vm === 'big1')).toBe(true);
  });

  it('accepts one approval only, and only for codes that need one', async () => {
    t = await makeTestBot({
      config: { ...approvalRules, users: { ...baseUsers(), dave: { roles: ['approver'] } } },
    });
    const c = await code('alice', 'probe create big1 memory=32G');
    const [a, b] = await Promise.all([t.text('carol', `approve ${c}`), t.text('dave', `approve ${c}`)]);
    expect([a, b].filter((x) => x.startsWith('approved'))).toHaveLength(1);
    expect([a, b].filter((x) => x.includes('was already approved by'))).toHaveLength(1);
    const d = await code('alice', 'probe delete web01');
    expect(await t.text('carol', `approve ${d}`)).toBe(`code ${d} does not need approval`);
  });

  it('uses the approvers the rule names, on a destructive command', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe delete web01 host=prod-1');
    expect(await t.text('carol', `approve ${c}`)).toBe(
      `approving code ${c} needs role admin, which carol does not hold`,
    );
    expect(await t.text('dave', `approve ${c}`)).toContain('approved probe delete web01 host=prod-1');
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe delete');
  });

  it('can be cancelled by the requester before approval', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe create big1 memory=32G');
    expect(await t.text('alice', `cancel ${c}`)).toBe('cancelled: probe create big1 memory=32G');
    expect(await t.text('carol', `approve ${c}`)).toBe(`no pending action has code ${c}`);
    expect(t.runs).toEqual([]);
  });

  it('lapses without approval, and the lapse is recorded', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe create big1 memory=32G');
    t.clock.now = new Date(t.clock.now.getTime() + 61_000);
    expect(await t.text('bob', 'probe info web01')).toBe('ran probe info');
    const lapse = (await t.records()).find((r) => r.outcome === 'lapsed');
    expect(lapse).toMatchObject({
      user: 'alice',
      vm: 'big1',
      path: 'probe.create',
      command: 'probe create big1 memory=32G',
    });
    expect(lapse!.detail).toBe(
      `code ${c} lapsed at 2026-11-25T10:01:00.000Z without approval: nothing was done`,
    );
    expect(await t.text('carol', `approve ${c}`)).toBe(`code ${c} lapsed`);
    expect(await t.text('alice', `confirm ${c}`)).toBe(`code ${c} lapsed: run the command again`);
    expect(t.runs.map((r) => r.path)).toEqual(['probe.info']);
  });

  it('gives the requester a fresh timeout after approval', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe create big1 memory=32G');
    t.clock.now = new Date(t.clock.now.getTime() + 50_000);
    await t.say('carol', `approve ${c}`);
    t.clock.now = new Date(t.clock.now.getTime() + 50_000);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe create');
  });
});

function baseUsers() {
  return {
    alice: { roles: ['ops'], system: 'alice' },
    bob: { roles: ['viewer'], system: 'bob' },
    carol: { roles: ['ops', 'approver'] },
    dave: { roles: ['admin'] },
  };
}

describe('confirmation races', () => {
  it('lets exactly one of many concurrent confirmations of one code run the command', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    const replies = await Promise.all(Array.from({ length: 20 }, () => t.text('alice', `confirm ${c}`)));
    expect(replies.filter((r) => r === 'ran probe delete')).toHaveLength(1);
    expect(replies.filter((r) => r === `no pending action has code ${c}`)).toHaveLength(19);
    expect(t.runs).toHaveLength(1);
  });

  it('re-authorizes at confirmation: roles lost meanwhile mean no', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    // The roles change (a config reload, a Discord role removed): alice no longer has ops.
    t.bot.config.users['alice']!.roles = ['viewer'];
    expect(await t.text('alice', `confirm ${c}`)).toBe('denied: no role of alice grants probe.delete');
    expect(t.runs).toEqual([]);
    expect((await t.records()).at(-1)).toMatchObject({ outcome: 'denied', vm: 'web01', user: 'alice' });
  });

  it('re-authorizes at confirmation: a rule added meanwhile applies', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    t.bot.config.rules.push({
      name: 'freeze',
      permission: 'probe.*',
      vm: 'web*',
      effect: 'deny',
      reason: 'change freeze',
    });
    expect(await t.text('alice', `confirm ${c}`)).toBe(
      'denied: rule freeze (probe.* on VM web*) denies probe.delete (change freeze)',
    );
    expect(t.runs).toEqual([]);
  });

  it('does not let another anonymous sender who took the nick confirm', async () => {
    t = await makeTestBot({ config: { anonymous: { roles: ['ops'] } } });
    const replies = await t.say('guest', 'probe delete web01', {
      sender: { local: false, hostmask: 'guest!u@home.example' },
    });
    const c = replies[0]!.confirmCode!;
    expect(c).toBeDefined();
    // Same nick, different person (different user@host).
    expect(
      await t.text('guest', `confirm ${c}`, { sender: { local: false, hostmask: 'guest!x@evil.example' } }),
    ).toBe(`code ${c} belongs to someone else`);
    // Same nick without any hostmask at all.
    expect(await t.text('guest', `confirm ${c}`, { sender: { local: false } })).toBe(
      `code ${c} belongs to someone else`,
    );
    expect(t.runs).toEqual([]);
    expect(
      await t.text('guest', `confirm ${c}`, { sender: { local: false, hostmask: 'guest!u@home.example' } }),
    ).toBe('ran probe delete');
  });

  it('keys unregistered IRC accounts by account, not nick', async () => {
    t = await makeTestBot({ config: { anonymous: { roles: ['ops'] } } });
    const as = (_nick: string, account: string) => ({ sender: { local: false, account }, channel: '#ops' });
    const replies = await t.say('guest', 'probe delete web01', as('guest', 'someacct'));
    const c = replies[0]!.confirmCode!;
    expect(await t.text('guest', `confirm ${c}`, as('guest', 'otheracct'))).toBe(
      `code ${c} belongs to someone else`,
    );
    expect(await t.text('renamed', `confirm ${c}`, as('renamed', 'SomeAcct'))).toBe('ran probe delete');
  });

  it('refuses a code from a private conversation when it was issued in a channel', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    expect(await t.text('alice', `confirm ${c}`, { place: { private: true, channel: 'alice' } })).toBe(
      `code ${c} was issued in another conversation`,
    );
  });
});
