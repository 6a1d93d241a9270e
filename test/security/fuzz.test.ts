/**
 * 100 000 random and mutated command lines through the real pipeline: no crash, no unhandled
 * rejection, every turn answered and recorded with an identity, and no command body runs unless
 * its line validates (re-checked here independently of the pipeline), the sender may run it, and
 * — for destructive commands — the same sender confirmed its code.
 */

import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allGroups } from '../../commands/index.js';
import { parseArgs } from '../../src/command/parse-args.js';
import type { Args, CommandGroup } from '../../src/command/spec.js';
import type { AuditRecord } from '../../src/core/types.js';
import { tokenize } from '../../src/grammar/tokenize.js';
import { makeTestBot, probeGroup, type Run, type TestBot } from './bot.js';
import { HOSTILE } from './hostile.js';

const LINES = 100_000;
const PER_RUN = 100;

interface Recorded extends Run {
  line: string;
}

let t: TestBot;
const runs: Recorded[] = [];
let current = '';
const records: AuditRecord[] = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

/** Every command of every group, its body replaced by a recorder: nothing reaches a hypervisor. */
function recorded(groups: CommandGroup[]): CommandGroup[] {
  return groups.map((group) => ({
    ...group,
    commands: group.commands.map((spec) => ({
      ...spec,
      async run(ctx, args) {
        runs.push({ path: spec.path.join('.'), args, user: ctx.identity.user, line: current });
        return { reply: `ran ${spec.path.join(' ')}` };
      },
    })),
  }));
}

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  t = await makeTestBot({
    groups: recorded([...allGroups(), probeGroup([])]),
    config: {
      anonymous: { roles: ['viewer'] },
      rules: [
        { permission: 'probe.create', args: { memory: '>16G' }, effect: 'require-approval' },
        { permission: 'probe.*', host: 'prod-*', effect: 'require-role', roles: ['admin'] },
      ],
    },
  });
  // The audit log in memory: the fuzz is about the pipeline, not about fdatasync.
  t.bot.audit.append = async (record) => {
    records.push(record);
  };
});
afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await t.close();
});

/** The independent oracle: does this line validate, and to what? */
function validated(
  line: string,
): { path: string; args: Args; destructive: boolean; open: boolean } | undefined {
  try {
    const tokens = tokenize(line.trim());
    const { spec, consumed } = t.bot.commands.resolve(tokens);
    const args = parseArgs(spec, tokens.slice(consumed), {
      hostNames: t.bot.hosts.names(),
      now: () => t.clock.now,
    });
    return {
      path: spec.path.join('.'),
      args,
      destructive: spec.destructive === true,
      open: spec.open === true,
    };
  } catch {
    return undefined;
  }
}

const SENDERS = [
  { nick: 'alice', sender: { local: true } }, // role ops: probe.*
  { nick: 'bob', sender: { local: true } }, // viewer: probe.info
  { nick: 'dave', sender: { local: true } }, // admin: everything
  { nick: 'alice', sender: { local: false } }, // anonymous with alice's nick: viewer
  { nick: 'guest', sender: { local: false, hostmask: 'guest!g@example' } },
] as const;

/** Who may run what, from the config above (independently of the authorizer). */
function mayRun(senderIndex: number, path: string, args: Args, open: boolean): boolean {
  if (open || senderIndex === 2) return true;
  const prod = args['host'] === 'prod-1';
  if (senderIndex === 0)
    return path === 'history' || (path.startsWith('probe.') && !prod && path !== 'probe.create');
  return path === 'probe.info' && !prod;
}

const examples = allGroups().flatMap((g) => g.commands.flatMap((c) => c.examples.map((e) => e.input)));
const seeds = [
  ...examples,
  'probe info web01',
  'probe info web01 host=prod-1',
  'probe start web01',
  'probe delete web01',
  'probe delete web01 host=test',
  'probe create big memory=32G vcpus=4 network=default',
  'probe nic web01 mac=52:54:00:12:34:56 network=default bridge=br0',
  'probe disk web01 path=/var/lib/libvirt/images/a.qcow2 pool=default size=10G',
  'probe users add web01 alice bob',
  'probe account alice',
  'probe net default',
  'probe note hello world',
  'probe when since=2h --force code=ABCDEF',
  'confirm $CODE',
  'cancel $CODE',
  'approve $CODE',
  'history vm=web01 limit=5',
  'permissions check alice probe info web01',
  'whoami',
];

const hostile = fc.constantFrom(...HOSTILE.filter((h) => h.length < 100));
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(hostile, fc.string({ maxLength: 8, unit: 'binary' })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
  fc.record({
    kind: fc.constant('token' as const),
    at: fc.nat(),
    text: fc.oneof(hostile, fc.string({ maxLength: 12 })),
  }),
  fc.record({
    kind: fc.constant('option' as const),
    key: fc.constantFrom(
      'host',
      'vm',
      'memory',
      'mac',
      'path',
      'network',
      'force',
      'code',
      'limit',
      'user',
      'x',
    ),
    text: fc.oneof(hostile, fc.string({ maxLength: 12 })),
  }),
  fc.record({ kind: fc.constant('case' as const), upper: fc.boolean() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(line: string, m: Mutation): string {
  switch (m.kind) {
    case 'insert': {
      const at = m.at % (line.length + 1);
      return line.slice(0, at) + m.text + line.slice(at);
    }
    case 'delete': {
      const at = m.at % (line.length + 1);
      return line.slice(0, at) + line.slice(at + m.length);
    }
    case 'token': {
      const words = line.split(' ');
      words[m.at % words.length] = m.text;
      return words.join(' ');
    }
    case 'option':
      return `${line} ${m.key}=${m.text}`;
    case 'case':
      return m.upper ? line.toUpperCase() : line.toLowerCase();
  }
}

const lineArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...seeds), fc.array(mutation, { maxLength: 3 }))
      .map(([seed, ms]) => ms.reduce(mutate, seed)),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 80, unit: 'binary' }) },
  {
    weight: 1,
    arbitrary: fc.string({
      maxLength: 40,
      unit: fc.constantFrom(...'probe vm confirm help ;|&$`"\'\\=-<>\n\t'.split('')),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom(...seeds) },
);
const turnArb = fc.record({
  line: lineArb,
  sender: fc.nat({ max: SENDERS.length - 1 }),
  channel: fc.constantFrom('#ops', '#ops', '#other'),
});

describe('fuzz', () => {
  it(`survives ${LINES} random and mutated lines without running anything it should not`, async () => {
    let lines = 0;
    const pending = new Map<string, { path: string; args: Args; sender: number; channel: string }>();
    await fc.assert(
      fc.asyncProperty(fc.array(turnArb, { minLength: PER_RUN, maxLength: PER_RUN }), async (turns) => {
        for (const turn of turns) {
          lines++;
          const code = [...pending.keys()].at(-1) ?? 'ABCDEF';
          const line = turn.line.replace(/\$CODE/g, code);
          const who = SENDERS[turn.sender]!;
          const before = runs.length;
          const recordsBefore = records.length;
          current = line;
          const replies = await t.say(who.nick, line, { channel: turn.channel, sender: who.sender });
          const ran = runs.slice(before);
          const oracle =
            ran.length > 0 || replies.some((r) => r.confirmCode !== undefined) ? validated(line) : undefined;
          const fail = (why: string): never => {
            throw new Error(
              `${why} — ${who.nick}${who.sender.local ? '' : ' (unproven)'} in ${turn.channel}: ${JSON.stringify(line.slice(0, 200))}`,
            );
          };
          if (line.trim() !== '') {
            if (replies.length === 0) fail('no reply');
            if (records.length === recordsBefore) fail('no record');
            for (const r of records.slice(recordsBefore)) {
              if (!/^(local|anonymous)$/.test(r.proof)) fail(`record with proof ${r.proof}`);
              if (r.user !== null && !['alice', 'bob', 'dave'].includes(r.user))
                fail(`record names ${r.user}`);
              if (r.user === null && r.proof !== 'anonymous') fail('unidentified record with a proof');
            }
          }
          for (const reply of replies)
            if (typeof reply.text !== 'string' || reply.text === '') fail('empty reply');
          const codeReply = replies.find((r) => r.confirmCode !== undefined);
          if (codeReply) {
            if (!oracle) fail('a confirmation code for a line that does not validate');
            pending.set(codeReply.confirmCode!, {
              path: oracle!.path,
              args: oracle!.args,
              sender: turn.sender,
              channel: turn.channel,
            });
          }
          if (ran.length === 0) continue;
          if (ran.length > 1) fail(`${ran.length} bodies ran`);
          const run = ran[0]!;
          // A body ran: the line validated, to exactly what ran …
          if (!oracle) fail(`ran ${run.path} for a line that does not validate`);
          if (oracle!.path === 'confirm') {
            const code = String(oracle!.args['code']);
            const action = pending.get(code);
            if (!action) fail(`confirm of an unknown code ran ${run.path}`);
            // … by whoever asked for it (a proven user, or the same unproven hostmask), in the same place …
            const sameIdentity =
              action!.sender === turn.sender ||
              (who.sender.local &&
                SENDERS[action!.sender]!.sender.local &&
                SENDERS[action!.sender]!.nick === who.nick);
            if (!sameIdentity) fail(`confirmed by ${who.nick}, asked by ${SENDERS[action!.sender]!.nick}`);
            if (action!.channel !== turn.channel) fail('confirmed in another channel');
            if (run.path !== action!.path || !isDeepStrictEqual(run.args, action!.args))
              fail('confirmed something else');
            pending.delete(code);
          } else {
            if (['confirm', 'cancel', 'approve'].includes(run.path)) fail(`${run.path} body ran`);
            if (run.path !== oracle!.path || !isDeepStrictEqual(run.args, oracle!.args))
              fail(`ran ${run.path} with other arguments`);
            // … nothing destructive without a confirmation, nothing the sender may not run.
            if (oracle!.destructive) fail(`destructive ${run.path} ran without confirmation`);
          }
          if (!mayRun(turn.sender, run.path, run.args, oracle!.path !== 'confirm' && oracle!.open))
            fail(`${run.path} ran for a sender who may not run it`);
        }
      }),
      { numRuns: LINES / PER_RUN, seed: 6, endOnFailure: true },
    );
    expect(lines).toBe(LINES);
    expect(rejections).toEqual([]);
    // The fuzz reached the bodies, the confirmations and the denials, not only the parser.
    const outcomes = new Set(records.map((r) => r.outcome));
    for (const outcome of ['ok', 'invalid', 'denied', 'pending', 'cancelled'])
      expect(outcomes).toContain(outcome);
    expect(runs.filter((r) => r.line.startsWith('confirm')).length).toBeGreaterThan(0);
  }, 120_000);
});
