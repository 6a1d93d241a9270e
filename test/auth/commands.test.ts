/**
 * The trust layer's own commands through the whole pipeline on real test hosts
 * (test/security/bot.ts): `whoami`, `permissions check` (which must give the answer the pipeline
 * then gives), `permissions rules`, and `history`, which shows only what the asker may see.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { baseUsers, makeTestBot, type SayOptions, type TestBot } from '../security/bot.js';

let t: TestBot;
afterEach(async () => t?.close());

describe('whoami', () => {
  it('names the identity, its proof, groups, roles and system account', async () => {
    t = await makeTestBot();
    expect(await t.say('frank', 'whoami')).toEqual([
      { text: 'you are frank, proven by the local console — groups: devs — roles: none', kind: 'reply' },
    ]);
    expect(await t.say('alice', 'whoami')).toEqual([
      {
        text: 'you are alice, proven by the local console — groups: none — roles: ops — system account: alice',
        kind: 'reply',
        lines: ['role ops: probe.* whoami history'],
      },
    ]);
  });

  it('tells an unproven sender that they are not identified, whatever their nick', async () => {
    t = await makeTestBot();
    expect(await t.text('alice', 'whoami', { sender: { local: false, hostmask: 'alice!a@b' } })).toBe(
      'you are not identified (nick alice: no services account, Discord id or allowed hostmask of a configured user) — roles: none',
    );
    expect(await t.text('alice', 'whoami', { sender: { local: false, account: 'stranger' } })).toBe(
      'you are not identified (nick alice: IRC services account stranger, which no configured user has) — roles: none',
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

  it('explains allowed and denied decisions with the deciding rule or role, where the VM really is', async () => {
    t = await makeTestBot({ config: rules });
    expect(await t.text('dave', 'permissions check alice probe info web01')).toBe(
      'alice may run probe info (VM web01 on test) in #ops: role ops: probe.* grants probe.info',
    );
    // db01 is on prod-1: the rule on prod-* applies without host= in the question.
    expect(await t.text('dave', 'permissions check alice "probe info db01"')).toBe(
      "alice may not run probe info (VM db01 on prod-1) in #ops: rule 'prod' (probe.* on host prod-*): probe.info needs role admin, which alice does not hold",
    );
    expect(await t.text('dave', 'permissions check alice probe delete web01')).toBe(
      "alice may run probe delete (VM web01 on test) in #ops: role ops: probe.* grants probe.delete — then 'confirm CODE' by alice",
    );
    expect(await t.text('dave', "permissions check alice 'probe create big memory=32G'")).toBe(
      "alice may run probe create (new VM big on test) in #ops: role ops: probe.* grants probe.create; rule 'big' (probe.create with memory>16G): needs approval by a holder of role approver — then approval by a holder of role approver, then 'confirm CODE' by alice",
    );
    expect(await t.text('dave', 'permissions check alice probe list')).toBe(
      "alice may run probe list (hosts test (prod-1 withheld: rule 'prod' (probe.* on host prod-*): probe.list needs role admin, which alice does not hold)) in #ops: role ops: probe.* grants probe.list",
    );
    expect(await t.text('dave', 'permissions check frank probe note hello')).toBe(
      'frank may not run probe note in #ops: no role of frank grants probe.note',
    );
    expect(await t.text('dave', 'permissions check frank probe note hello in=private')).toBe(
      "frank may run probe note in private: rule 'private-notes' (probe.note in private) allows probe.note",
    );
    expect(await t.text('dave', 'permissions check anonymous probe info web01')).toBe(
      'anonymous may not run probe info (VM web01 on test) in #ops: no role of anonymous (not identified) grants probe.info',
    );
    expect(await t.text('dave', 'permissions check anonymous whoami')).toBe(
      'anonymous may run whoami in #ops: whoami is open to everyone',
    );
    expect(t.runs).toEqual([]);
  });

  it('gives the answer the pipeline then gives', async () => {
    t = await makeTestBot({ config: rules });
    const lines = [
      'probe info web01',
      'probe info db01',
      'probe start web02',
      'probe delete web01',
      'probe create big9 memory=32G',
      'probe create small9 memory=1G',
      'probe disk web01 path=/var/lib/libvirt/images/a.img',
      'probe net default host=prod-1',
      'probe note hello',
      'whoami',
    ];
    // erin has no role: what she may do comes from web01's access list.
    expect(await t.text('dave', 'vm users add web01 erin')).toBe(
      'granted erin access to web01; users now: erin',
    );
    const places: SayOptions[] = [{}, { place: { private: true, channel: 'someone' } }];
    for (const user of ['alice', 'bob', 'erin', 'anonymous']) {
      for (const where of places) {
        for (const line of lines) {
          const inPrivate = where.place?.private === true;
          const question = `permissions check ${user} ${JSON.stringify(line)}${inPrivate ? ' in=private' : ''}`;
          const explained = await t.text('dave', question);
          // An unproven sender is 'anonymous' to the check; its nick here makes the reasons alike.
          const answer = await t.say(user, line, {
            ...where,
            ...(user === 'anonymous' ? { sender: { local: false } } : {}),
          });
          const said = `${user}: ${line}${inPrivate ? ' (private)' : ''} → ${explained} / ${answer[0]!.text}`;
          expect(answer, said).toHaveLength(1);
          if (explained.includes(' may not run ')) {
            expect(answer[0]!.text, said).toMatch(/^denied: /);
            expect(explained.endsWith(answer[0]!.text.slice('denied: '.length)), said).toBe(true);
          } else {
            expect(explained, said).toMatch(/ may run /);
            const needs = / then approval by /.test(explained)
              ? 'needs approval'
              : / then 'confirm CODE'/.test(explained)
                ? 'is destructive'
                : undefined;
            if (needs !== undefined) {
              expect(answer[0]!.kind, said).toBe('confirm');
              expect(answer[0]!.text, said).toContain(needs);
            } else {
              expect(answer[0]!.kind, said).toBe('reply');
            }
          }
        }
      }
    }
  });

  it('answers bad questions with a one-line error and runs nothing', async () => {
    t = await makeTestBot({ config: rules });
    expect(await t.text('dave', 'permissions check mallory probe info web01')).toBe(
      "no user 'mallory' in the config (users: alice, bob, carol, dave, erin, frank; or 'anonymous')",
    );
    expect(await t.text('dave', 'permissions check alice probe info "web;01"')).toMatch(
      /^cannot judge "probe info web;01": 'web;01' is not a valid VM name/,
    );
    expect(await t.text('dave', 'permissions check alice probe info web01 in=ops')).toMatch(
      /^'ops' is not a channel: use #channel or private/,
    );
    expect(await t.text('dave', 'permissions check alice prob')).toMatch(
      /^cannot judge "prob": unknown command 'prob'/,
    );
    // The question is located like the command: a VM nowhere, or in two places, cannot be judged.
    expect(await t.text('dave', 'permissions check alice probe info nope')).toBe(
      'cannot judge "probe info nope": no VM \'nope\' on any host (test, prod-1)',
    );
    expect(await t.text('dave', 'permissions check alice probe info twin')).toBe(
      'cannot judge "probe info twin": there is a VM \'twin\' on test and prod-1: say which with host=test or host=prod-1',
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
    expect(await t.say('dave', 'permissions rules')).toEqual([
      {
        text: '3 rules: a deny decides; required roles and approvals add up; else roles, else no',
        kind: 'reply',
        lines: [
          "rule 'prod' (probe.* on host prod-*): require-role admin",
          "rule 'big' (probe.create with memory>16G): require-approval by approver",
          "rule 'private-notes' (probe.note in private): allow",
        ],
      },
    ]);
  });
});

describe('history', () => {
  /** ops may look at VMs and hosts; VMs on prod only admins; erin may read history, nothing else. */
  const historyConfig = {
    users: { ...baseUsers(), erin: { system: 'erin', roles: ['historian'] } },
    roles: {
      ops: { permissions: ['probe.*', 'whoami', 'history', 'vm.info', 'host.info'] },
      viewer: { permissions: ['probe.info', 'help'] },
      admin: { permissions: ['*'] },
      approver: { permissions: ['help'] },
      historian: { permissions: ['history'] },
    },
    rules: [
      {
        name: 'prod-eyes',
        permission: 'vm.info',
        host: 'prod-*',
        effect: 'require-role' as const,
        roles: ['admin'],
      },
    ],
    vmAccess: { enabled: true, permissions: ['probe.*', '!probe.users.*', 'vm.info'] },
  };
  const privately = (nick: string): SayOptions => ({ place: { private: true, channel: nick } });

  async function story(): Promise<void> {
    const turns: [string, string, SayOptions?][] = [
      ['alice', 'probe info web01'],
      ['bob', 'probe start web01'],
      ['alice', 'probe info db01'],
      ['alice', 'probe info web01', { sender: { local: false } }],
      ['bob', 'probe info web02', { channel: '#other' }],
      ['alice', 'probe info web02', privately('alice')],
      ['carol', 'probe info web01', privately('carol')],
      ['dave', 'vm users add web01 erin'],
    ];
    for (const [nick, line, where] of turns) {
      await t.say(nick, line, where);
      t.clock.now = new Date(t.clock.now.getTime() + 1000);
    }
  }
  const lines = async (nick: string, line: string, where?: SayOptions) => {
    const [reply] = await t.say(nick, line, where);
    return [reply!.text, ...(reply!.lines ?? [])];
  };

  it('answers from the audit log, newest first, denials included, naming the resolved identity', async () => {
    t = await makeTestBot({ config: historyConfig });
    await story();
    expect(await lines('dave', 'history')).toEqual([
      '8 records, newest first:',
      "2026-11-25 10:00:07Z [test/web01] dave: vm users add web01 erin → ok: Add user 'erin' to guest 'web01'",
      '2026-11-25 10:00:06Z [test/web01] carol: probe info web01 → ok: ran probe info',
      '2026-11-25 10:00:05Z [test/web02] alice: probe info web02 → ok: ran probe info',
      '2026-11-25 10:00:04Z [test/web02] bob: probe info web02 → ok: ran probe info',
      '2026-11-25 10:00:03Z [test/web01] alice (unidentified): probe info web01 → denied: no role of alice (not identified) grants probe.info',
      '2026-11-25 10:00:02Z [prod-1/db01] alice: probe info db01 → ok: ran probe info',
      '2026-11-25 10:00:01Z [test/web01] bob: probe start web01 → denied: no role of bob grants probe.start',
      '2026-11-25 10:00:00Z [test/web01] alice: probe info web01 → ok: ran probe info',
    ]);
    expect(await lines('dave', 'history vm=web01 limit=2')).toEqual([
      '2 records, newest first:',
      expect.stringContaining('dave: vm users add web01 erin'),
      expect.stringContaining('carol: probe info web01'),
    ]);
    expect(await lines('dave', 'history host=prod-1')).toEqual([
      '1 record, newest first:',
      expect.stringContaining('[prod-1/db01] alice: probe info db01'),
    ]);
    expect((await lines('dave', 'history user=bob')).slice(1)).toEqual([
      expect.stringContaining('bob: probe info web02'),
      expect.stringContaining('bob: probe start web01'),
    ]);
    expect(await t.text('dave', 'history since=2026-11-26')).toBe('no audit records match');
    expect(await t.text('dave', 'history since=2s')).toMatch(/^\d+ records?, newest first/);
  });

  it("shows only this place's records, the asker's own, and hosts and VMs the asker may look at", async () => {
    t = await makeTestBot({ config: historyConfig });
    await story();
    // alice in #ops: #ops records and her own private one; not #other's, not carol's private
    // one, and not her own on prod-1, whose VMs only admins may look at.
    expect(await lines('alice', 'history')).toEqual([
      '5 records, newest first:',
      expect.stringContaining('dave: vm users add web01 erin'),
      expect.stringContaining('[test/web02] alice: probe info web02'),
      expect.stringContaining('alice (unidentified): probe info web01'),
      expect.stringContaining('bob: probe start web01'),
      expect.stringContaining('[test/web01] alice: probe info web01'),
    ]);
    // Asked privately: only her own records.
    expect(await lines('alice', 'history', privately('alice'))).toEqual([
      '3 records, newest first:',
      expect.stringContaining('alice: history'),
      expect.stringContaining('[test/web02] alice: probe info web02'),
      expect.stringContaining('[test/web01] alice: probe info web01'),
    ]);
    // In another channel: that channel's records alone (bob's), and alice's own.
    expect((await lines('alice', 'history', { channel: '#other' }))[0]).toBe('5 records, newest first:');
    expect(await t.text('alice', 'history user=carol')).toBe('no audit records match');
    expect(await t.text('alice', 'history host=prod-1')).toBe('no audit records match');
  });

  it('lets a per-VM user see the records of that VM only', async () => {
    t = await makeTestBot({ config: historyConfig });
    await story();
    // erin holds no role that looks at VMs; web01's access list (vm users add) lets her see its records.
    expect(await lines('erin', 'history')).toEqual([
      '4 records, newest first:',
      expect.stringContaining('dave: vm users add web01 erin'),
      expect.stringContaining('alice (unidentified): probe info web01'),
      expect.stringContaining('bob: probe start web01'),
      expect.stringContaining('[test/web01] alice: probe info web01'),
    ]);
    expect(await t.text('erin', 'history vm=web02')).toBe('no audit records match');
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
