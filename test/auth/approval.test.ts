/**
 * Approval by a second person and confirmation codes, through the whole pipeline on real test
 * hosts (test/security/bot.ts): who may approve, confirm, cancel or deny a code, where, when, how
 * often; and that `confirm CODE` locates and judges the stored invocation again before it runs.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { AuditRecord } from '../../src/core/types.js';
import { baseUsers, makeTestBot, type SayOptions, type TestBot } from '../security/bot.js';

let t: TestBot;
afterEach(async () => {
  vi.useRealTimers();
  await t?.close();
});

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

async function code(nick: string, line: string, options: SayOptions = {}): Promise<string> {
  const replies = await t.say(nick, line, options);
  expect(replies).toHaveLength(1);
  expect(replies[0]!.kind, replies[0]!.text).toBe('confirm');
  return replies[0]!.confirmCode!;
}

const later = (ms: number) => {
  t.clock.now = new Date(t.clock.now.getTime() + ms);
};

describe('approval by a second person', () => {
  it('needs an approver, then the requester confirms; every step is recorded', async () => {
    t = await makeTestBot({ config: approvalRules });
    const first = await t.say('alice', 'probe create big1 memory=32G');
    expect(first).toHaveLength(1);
    const c = first[0]!.confirmCode!;
    expect(first[0]).toMatchObject({ kind: 'confirm', actions: ['approve', 'deny', 'confirm', 'cancel'] });
    expect(first[0]!.text).toBe(
      `probe create needs approval (rule 'big' (probe.create with memory>16G)): a holder of role approver must type '!approve ${c}' here within 60 s, then you '!confirm ${c}' (or '!cancel ${c}')`,
    );
    expect(c).toMatch(/^[A-Z2-9]{6}$/);
    expect(await t.text('alice', `confirm ${c}`)).toBe(
      `code ${c} is waiting for approval: a holder of role approver must approve it`,
    );
    expect(t.runs).toEqual([]);
    expect(await t.text('carol', `approve ${c}`)).toBe(
      `approved probe create big1 memory=32G (code ${c}) for alice: alice may now type '!confirm ${c}' within 60 s`,
    );
    expect(t.runs).toEqual([]);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe create');
    expect(t.runs).toEqual([
      {
        path: 'probe.create',
        user: 'alice',
        args: { vm: 'big1', memory: 32 * 1024 ** 2 },
        host: 'test',
        vm: 'big1',
      },
    ]);
    const records = await t.records();
    expect(records.map((r) => [r.user, r.outcome, r.path])).toEqual([
      ['alice', 'pending', 'probe.create'],
      ['alice', 'invalid', 'confirm'],
      ['carol', 'approved', 'approve'],
      ['alice', 'ok', 'probe.create'],
    ]);
    expect(records[0]).toMatchObject({ vm: 'big1', host: 'test', command: 'probe create big1 memory=32G' });
    expect(records[2]).toMatchObject({ vm: 'big1', host: 'test' });
    expect(records[3]).toMatchObject({
      vm: 'big1',
      host: 'test',
      command: `probe create big1 memory=32G (confirmed ${c}, approved by carol)`,
    });
  });

  it('does not need approval below the threshold', async () => {
    t = await makeTestBot({ config: approvalRules });
    expect(await t.text('alice', 'probe create small memory=2G')).toBe('ran probe create');
    expect(await t.text('alice', 'probe create small2 memory=16G')).toBe('ran probe create');
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
    expect(await t.text('carol', `approve ${c}`, { place: { private: true, channel: 'carol' } })).toBe(
      `code ${c} was issued in another conversation`,
    );
    // Nor may the approver take the code as their own, or approve by chatter.
    expect(await t.text('carol', `confirm ${c}`)).toBe(`code ${c} belongs to someone else`);
    expect(await t.say('carol', `approve ${c}`, { addressed: false })).toEqual([]);
    expect(await t.text('alice', `confirm ${c}`)).toContain('is waiting for approval');
    expect(t.runs).toEqual([]);
    // None of it approved anything: carol still can, once.
    expect(await t.text('carol', `approve ${c}`)).toMatch(/^approved /);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe create');
  });

  // Defect: a refused approval is recorded as 'invalid' and without the VM it was aimed at, so the
  // audit log hides who tried to approve what they may not (the confirmation desk turns every
  // refusal but a lapse into CommandError(…, 'invalid') with no record.about). Expected: 'denied',
  // naming the pending command's host and VM, as the approval itself is recorded.
  it('records refused approvals as denied, naming the VM they were aimed at', async () => {
    t = await makeTestBot({
      config: { ...approvalRules, users: { ...baseUsers(), alice: { roles: ['ops', 'approver'] } } },
    });
    const c = await code('alice', 'probe create big1 memory=32G');
    await t.say('alice', `approve ${c}`);
    await t.say('bob', `approve ${c}`);
    await t.say('carol', `approve ${c}`, { sender: { local: false } });
    await t.say('carol', `approve ${c}`, { channel: '#elsewhere' });
    const refusals = (await t.records()).filter((r) => r.path === 'approve');
    expect(refusals).toHaveLength(4);
    expect(refusals.map((r) => r.outcome)).toEqual(['denied', 'denied', 'denied', 'denied']);
    expect(refusals.every((r) => r.vm === 'big1' && r.host === 'test')).toBe(true);
  });

  it('accepts one approval only, and only for codes that need one', async () => {
    t = await makeTestBot({
      config: { ...approvalRules, users: { ...baseUsers(), dave: { roles: ['approver'] } } },
    });
    const c = await code('alice', 'probe create big1 memory=32G');
    const [a, b] = await Promise.all([t.text('carol', `approve ${c}`), t.text('dave', `approve ${c}`)]);
    expect(
      [a, b].filter((x) => x.startsWith(`approved probe create big1 memory=32G (code ${c})`)),
    ).toHaveLength(1);
    expect([a, b].filter((x) => x === `code ${c} is already approved: alice may confirm it`)).toHaveLength(1);
    const approvals = (await t.records()).filter((r) => r.outcome === 'approved');
    expect(approvals).toHaveLength(1);
    const d = await code('alice', 'probe delete web01');
    expect(await t.text('carol', `approve ${d}`)).toBe(`code ${d} does not need approval`);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe create');
  });

  it('uses the approvers the rule names, on the host where the VM really is', async () => {
    t = await makeTestBot({ config: approvalRules });
    // db01 is on prod-1: the rule on prod-* applies though the line does not name the host.
    const c = await code('alice', 'probe delete db01');
    expect(await t.text('carol', `approve ${c}`)).toBe(
      `approving code ${c} needs role admin, which carol does not hold`,
    );
    expect(await t.text('dave', `approve ${c}`)).toBe(
      `approved probe delete db01 (code ${c}) for alice: alice may now type '!confirm ${c}' within 60 s`,
    );
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe delete');
    expect(t.runs).toMatchObject([{ path: 'probe.delete', host: 'prod-1', vm: 'db01' }]);
    // On test the same command needs only the requester's confirmation.
    const d = await code('alice', 'probe delete web01');
    expect(await t.text('alice', `confirm ${d}`)).toBe('ran probe delete');
  });

  it('can be cancelled by the requester before approval, and denied by an approver', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe create big1 memory=32G');
    expect(await t.text('bob', `cancel ${c}`)).toBe(`code ${c} belongs to someone else`);
    expect(await t.text('alice', `cancel ${c}`)).toBe('cancelled: probe create big1 memory=32G');
    expect(await t.text('carol', `approve ${c}`)).toBe(`no pending command has code ${c}`);
    const d = await code('alice', 'probe create big2 memory=32G');
    expect(await t.text('alice', `deny ${d}`)).toBe(
      'you asked for probe create big2 memory=32G: someone else must approve it',
    );
    expect(await t.text('bob', `deny ${d}`)).toBe(
      `approving code ${d} needs role approver, which bob does not hold`,
    );
    expect(await t.text('carol', `deny ${d}`)).toBe(
      `denied probe create big2 memory=32G (code ${d}) of alice: it will not run`,
    );
    expect(await t.text('alice', `confirm ${d}`)).toBe(`no pending command has code ${d}`);
    expect(t.runs).toEqual([]);
    const records = await t.records();
    expect(records.find((r) => r.outcome === 'cancelled')).toMatchObject({ user: 'alice', vm: 'big1' });
    expect(records.find((r) => r.path === 'deny' && r.user === 'carol')).toMatchObject({
      outcome: 'denied',
      vm: 'big2',
    });
  });

  it('lapses without approval, and the lapse is recorded though nobody speaks again', async () => {
    // Only the bot's sweep timer is faked: the hosts' virsh and the audit log run as always.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe create big1 memory=32G');
    const lapsed = new Promise<AuditRecord>((resolve) => {
      const record = t.bot.audit.record.bind(t.bot.audit);
      t.bot.audit.record = async (single) => {
        const id = await record(single);
        if (single.outcome === 'lapsed') resolve({ ...single, id });
        return id;
      };
    });
    later(61_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await lapsed).toMatchObject({
      user: 'alice',
      host: 'test',
      vm: 'big1',
      path: 'probe.create',
      command: 'probe create big1 memory=32G',
      detail: `code ${c} lapsed at 2026-11-25T10:01:00.000Z without approval: nothing was done`,
    });
    expect(await t.text('carol', `approve ${c}`)).toBe(`code ${c} lapsed`);
    expect(await t.text('alice', `confirm ${c}`)).toBe(`code ${c} lapsed: run the command again`);
    expect(t.runs).toEqual([]);
  });

  it('lapses when the requester comes too late, and says so', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe create big1 memory=32G');
    expect(await t.text('carol', `approve ${c}`)).toMatch(/^approved /);
    later(61_000);
    expect(await t.text('alice', `confirm ${c}`)).toBe(`code ${c} lapsed: run the command again`);
    expect((await t.records()).at(-1)).toMatchObject({
      outcome: 'lapsed',
      user: 'alice',
      vm: 'big1',
      detail: `code ${c} for probe create big1 memory=32G lapsed at 2026-11-25T10:01:00.000Z: nothing was done`,
    });
    expect(t.runs).toEqual([]);
  });

  it('gives the requester a fresh timeout after approval', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe create big1 memory=32G');
    later(50_000);
    await t.say('carol', `approve ${c}`);
    later(50_000);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe create');
  });

  it('asks again when a rule began to ask for an approval after the code was given', async () => {
    t = await makeTestBot({ config: approvalRules });
    const c = await code('alice', 'probe delete web01');
    reload(t, (config) => ({
      ...config,
      rules: [
        ...config.rules,
        { name: 'web-delete', permission: 'probe.delete', vm: 'web*', effect: 'require-approval' },
      ],
    }));
    expect(await t.text('alice', `confirm ${c}`)).toBe(
      "denied: probe delete web01 now needs approval (rule 'web-delete' (probe.delete on VM web*)): run it again",
    );
    expect(t.runs).toEqual([]);
  });
});

describe('approval of fan-outs', () => {
  const prodList = {
    rules: [
      { name: 'prod-list', permission: 'probe.list', host: 'prod-*', effect: 'require-approval' as const },
    ],
  };

  it('asks for the approval when the fan-out is aimed at that host alone', async () => {
    t = await makeTestBot({ config: prodList });
    const c = await code('alice', 'probe list host=prod-1');
    expect(t.runs).toEqual([]);
    expect(await t.text('carol', `approve ${c}`)).toMatch(/^approved probe list host=prod-1/);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe list');
    expect(t.runs).toMatchObject([{ path: 'probe.list', hosts: ['prod-1'] }]);
  });

  // Defect: a fan-out takes the obligations of the first host it may run on (authorizeFanOut's
  // `first` verdict), so 'probe list' runs on test and prod-1 at once without the approval the
  // rule asks for on prod-1. Fix: merge the obligations of every allowed host (or leave out,
  // as withheld, the hosts whose verdict asks for more than the one used).
  it('never runs a fan-out on a host whose rule asks for an approval without it', async () => {
    t = await makeTestBot({ config: prodList });
    await t.say('alice', 'probe list');
    const unapproved = t.runs.filter((r) => r.hosts?.includes('prod-1'));
    expect(unapproved).toEqual([]);
  });
});

/** Replaces the bot's config, as a reload does: the next message is judged by the new one. */
function reload(bot: TestBot, change: (config: Config) => Config): void {
  bot.bot.reload(change(bot.bot.config));
}

describe('confirmation codes', () => {
  it('lets exactly one of many concurrent confirmations of one code run the command', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    const replies = await Promise.all(Array.from({ length: 20 }, () => t.text('alice', `confirm ${c}`)));
    expect(replies.filter((r) => r === 'ran probe delete')).toHaveLength(1);
    // The others find no such code; past five wrong codes a minute they are not even looked at.
    const refused = replies.filter((r) => r !== 'ran probe delete');
    expect(refused).toHaveLength(19);
    for (const r of refused)
      expect(r).toMatch(
        new RegExp(`^(no pending command has code ${c}|too many wrong codes: try again in \\d+ s)$`),
      );
    expect(refused.filter((r) => r.startsWith('no pending')).length).toBeLessThanOrEqual(5);
    expect(t.runs).toHaveLength(1);
  });

  it('refuses every code, the right one too, after five wrong ones in a minute', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    const wrong = c === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA';
    for (let i = 0; i < 5; i++)
      expect(await t.text('alice', `confirm ${wrong}`)).toBe(`no pending command has code ${wrong}`);
    expect(await t.text('alice', `confirm ${c}`)).toMatch(/^too many wrong codes: try again in \d+ s$/);
    expect(await t.text('alice', `cancel ${c}`)).toMatch(/^too many wrong codes/);
    expect(t.runs).toEqual([]);
    // Someone else is not held back by alice's guesses.
    const d = await code('carol', 'probe delete web02');
    expect(await t.text('carol', `confirm ${d}`)).toBe('ran probe delete');
    // Guessing someone else's code counts as a wrong code too.
    for (let i = 0; i < 5; i++) await t.say('bob', `approve ${wrong}`);
    expect(await t.text('bob', `approve ${c}`)).toMatch(/^too many wrong codes/);
    later(50_000);
    expect(await t.text('alice', `confirm ${c}`)).toBe('ran probe delete');
  });

  it('re-authorizes at confirmation: roles lost meanwhile mean no', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    // The roles change (a config reload, a Discord role removed): alice no longer has ops.
    reload(t, (config) => ({
      ...config,
      users: { ...config.users, alice: { ...config.users['alice']!, roles: ['viewer'] } },
    }));
    expect(await t.text('alice', `confirm ${c}`)).toBe('denied: no role of alice grants probe.delete');
    expect(t.runs).toEqual([]);
    expect((await t.records()).at(-1)).toMatchObject({
      outcome: 'denied',
      host: 'test',
      vm: 'web01',
      user: 'alice',
    });
  });

  it('re-authorizes at confirmation: a rule added meanwhile applies', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    reload(t, (config) => ({
      ...config,
      rules: [{ name: 'freeze', permission: 'probe.*', vm: 'web*', effect: 'deny', reason: 'change freeze' }],
    }));
    expect(await t.text('alice', `confirm ${c}`)).toBe(
      "denied: rule 'freeze' (probe.* on VM web*) denies probe.delete (change freeze)",
    );
    expect(t.runs).toEqual([]);
  });

  it('locates the VM again at confirmation: one that moved is judged where it is now', async () => {
    t = await makeTestBot({
      config: {
        rules: [
          { name: 'prod', permission: 'probe.*', host: 'prod-*', effect: 'require-role', roles: ['admin'] },
        ],
      },
    });
    const c = await code('alice', 'probe delete web02');
    // web02 moves from test to prod-1 behind virtbot's back.
    const hosts = t.bot.hosts;
    await hosts.get('prod-1').define(await hosts.get('test').dumpXml('web02', { inactive: true }));
    await hosts.get('test').undefine('web02');
    expect(await t.text('alice', `confirm ${c}`)).toBe(
      "denied: rule 'prod' (probe.* on host prod-*): probe.delete needs role admin, which alice does not hold",
    );
    // Now on both: neither is guessed.
    const d = await code('dave', 'probe delete web01');
    await hosts.get('prod-1').define(await hosts.get('test').dumpXml('web01', { inactive: true }));
    expect(await t.text('dave', `confirm ${d}`)).toBe(
      "there is a VM 'web01' on test and prod-1: say which with host=test or host=prod-1",
    );
    expect(t.runs).toEqual([]);
  });

  it('does not let another anonymous sender who took the nick confirm', async () => {
    t = await makeTestBot({ config: { anonymous: { roles: ['ops'] } } });
    const home = { sender: { local: false, hostmask: 'guest!u@home.example' } };
    const c = await code('guest', 'probe delete web01', home);
    // Same nick, different person (different user@host).
    expect(
      await t.text('guest', `confirm ${c}`, { sender: { local: false, hostmask: 'guest!x@evil.example' } }),
    ).toBe(`code ${c} belongs to someone else`);
    // Same nick without any hostmask at all.
    expect(await t.text('guest', `confirm ${c}`, { sender: { local: false } })).toBe(
      `code ${c} belongs to someone else`,
    );
    // Nor by chatter: a bare 'confirm CODE' counts only from the code's owner.
    expect(
      await t.say('guest', `confirm ${c}`, {
        addressed: false,
        sender: { local: false, hostmask: 'guest!x@evil.example' },
      }),
    ).toEqual([]);
    expect(t.runs).toEqual([]);
    expect(await t.text('guest', `confirm ${c}`, { ...home, addressed: false })).toBe('ran probe delete');
  });

  it('keys unregistered IRC accounts by account, not nick', async () => {
    t = await makeTestBot({ config: { anonymous: { roles: ['ops'] } } });
    const as = (account: string): SayOptions => ({ sender: { local: false, account }, channel: '#ops' });
    const c = await code('guest', 'probe delete web01', as('someacct'));
    expect(await t.text('guest', `confirm ${c}`, as('otheracct'))).toBe(`code ${c} belongs to someone else`);
    expect(await t.text('renamed', `confirm ${c}`, as('SomeAcct'))).toBe('ran probe delete');
  });

  it('refuses a code from a private conversation when it was issued in a channel, and the reverse', async () => {
    t = await makeTestBot();
    const c = await code('alice', 'probe delete web01');
    expect(await t.text('alice', `confirm ${c}`, { place: { private: true, channel: 'alice' } })).toBe(
      `code ${c} was issued in another conversation`,
    );
    const d = await code('alice', 'probe delete web02', { place: { private: true, channel: 'alice' } });
    expect(await t.text('alice', `confirm ${d}`)).toBe(`code ${d} was issued in another conversation`);
    expect(t.runs).toEqual([]);
  });
});
