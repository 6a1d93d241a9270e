import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmGroups } from '../../commands/confirm.js';
import { group as helpGroup } from '../../commands/help.js';
import { Bot } from '../../src/bot.js';
import { CommandError, type CommandGroup } from '../../src/command/spec.js';
import { validateConfig } from '../../src/config/load.js';
import type { AuditRecord, InboundMessage } from '../../src/core/types.js';
import type { HostRegistry } from '../../src/libvirt/hosts.js';
import { arg, defineCommand } from '../../src/pipeline/define.js';

/** A command group whose behaviour the tests control: it counts the runs that reached it. */
function probeGroup(runs: string[]): CommandGroup {
  const vm = () => arg.vm('vm').positional().required();
  return {
    name: 'probe',
    summary: 'test commands',
    commands: [
      defineCommand({
        path: ['probe', 'ok'],
        summary: 'succeeds',
        args: { vm: vm() },
        examples: [],
        async run({ args }) {
          runs.push(`ok ${args.vm}`);
          return { reply: `did ${args.vm}`, detail: `Did something to guest '${args.vm}'` };
        },
      }),
      defineCommand({
        path: ['probe', 'fail'],
        summary: 'fails cleanly',
        args: {},
        examples: [],
        async run() {
          runs.push('fail');
          throw new CommandError('the VM is not running');
        },
      }),
      defineCommand({
        path: ['probe', 'crash'],
        summary: 'crashes',
        args: {},
        examples: [],
        async run() {
          runs.push('crash');
          throw new TypeError("Cannot read properties of undefined (reading 'secret')");
        },
      }),
      defineCommand({
        path: ['probe', 'destroy'],
        summary: 'destructive',
        args: { vm: vm() },
        destructive: true,
        examples: [],
        async run({ args }) {
          runs.push(`destroy ${args.vm}`);
          return { reply: `destroyed ${args.vm}` };
        },
      }),
    ],
  };
}

const hosts = {
  names: () => ['test'],
  defaultHost: () => 'test',
  close: async () => {},
} as unknown as HostRegistry;

let dir: string;
let runs: string[];
let bot: Bot;
let clock: Date;

function makeBot(extra: Record<string, unknown> = {}) {
  const config = validateConfig({
    bot: { dataDir: dir },
    hosts: [{ name: 'test', uri: 'test:///default' }],
    users: { alice: { roles: ['ops'] }, bob: { roles: ['viewer'] }, carol: { roles: ['ops'] } },
    roles: { ops: { permissions: ['probe.*', '!probe.crash.never'] }, viewer: { permissions: ['help'] } },
    confirm: { timeoutSeconds: 60 },
    ...extra,
  });
  return new Bot({
    config,
    hosts,
    groups: [helpGroup, ...confirmGroups, probeGroup(runs)],
    logger: pino({ level: 'silent' }),
    now: () => clock,
  });
}

const say = (nick: string, text: string, channel = '#ops'): InboundMessage => ({
  place: { transport: 'console', network: '', channel, private: false },
  sender: { nick, local: true },
  text,
  time: clock,
  addressed: true,
});

async function records(): Promise<AuditRecord[]> {
  const text = await readFile(join(dir, 'audit.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-pipeline-'));
  runs = [];
  clock = new Date('2026-11-25T10:00:00Z');
  bot = makeBot();
});
afterEach(async () => {
  await bot.close();
  await rm(dir, { recursive: true, force: true });
});

describe('pipeline', () => {
  it('runs an allowed command and records it with the resolved identity', async () => {
    const replies = await bot.handle(say('alice', 'probe ok web01'));
    expect(replies).toEqual([{ text: 'did web01', kind: 'reply' }]);
    const [rec] = await records();
    expect(rec).toMatchObject({
      user: 'alice',
      nick: 'alice',
      proof: 'local',
      command: 'probe ok web01',
      path: 'probe.ok',
      outcome: 'ok',
      detail: "Did something to guest 'web01'",
      transport: 'console',
      channel: '#ops',
      time: '2026-11-25T10:00:00.000Z',
    });
  });

  it('denies by default and records the denial without running anything', async () => {
    const replies = await bot.handle(say('bob', 'probe ok web01'));
    expect(replies[0]).toMatchObject({ kind: 'error', private: true });
    expect(replies[0]!.text).toBe('denied: no role of bob grants probe.ok');
    expect(runs).toEqual([]);
    expect((await records())[0]).toMatchObject({ user: 'bob', outcome: 'denied' });
  });

  it('treats an unknown sender as anonymous, never as the user with that nick elsewhere', async () => {
    const msg = say('alice', 'probe ok web01');
    msg.sender = { nick: 'alice' }; // same nick, but no proof (no account, not local)
    const replies = await bot.handle(msg);
    expect(replies[0]!.text).toBe('denied: no role of alice (not identified) grants probe.ok');
    expect((await records())[0]).toMatchObject({ user: null, proof: 'anonymous', outcome: 'denied' });
    expect(runs).toEqual([]);
  });

  it('records invalid input and never calls the command', async () => {
    const replies = await bot.handle(say('alice', 'probe ok "web;01"'));
    expect(replies[0]!.kind).toBe('error');
    expect(replies[0]!.text).toContain("'web;01' is not a valid VM name");
    expect(replies[0]!.text).toContain('usage: probe ok VM');
    expect(runs).toEqual([]);
    expect((await records())[0]).toMatchObject({ outcome: 'invalid', path: 'probe.ok' });
  });

  it('answers an unknown command with a suggestion and records it', async () => {
    const replies = await bot.handle(say('alice', 'prob ok web01'));
    expect(replies[0]!.text).toBe("unknown command 'prob' — did you mean 'probe'? (try 'help')");
    expect((await records())[0]).toMatchObject({ outcome: 'invalid', command: 'prob ok web01' });
  });

  it('reports a quoting error as invalid', async () => {
    const replies = await bot.handle(say('alice', 'probe ok "web01'));
    expect(replies[0]!.text).toBe('cannot read the command: unterminated " quote starting at column 10');
  });

  it('reports a command failure as failed, in one line', async () => {
    const replies = await bot.handle(say('alice', 'probe fail'));
    expect(replies).toEqual([{ text: 'the VM is not running', kind: 'error' }]);
    expect((await records())[0]).toMatchObject({ outcome: 'failed', detail: 'the VM is not running' });
  });

  it('fails closed on a crash: one line, no stack trace, full error only in the log', async () => {
    const replies = await bot.handle(say('alice', 'probe crash'));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.kind).toBe('error');
    expect(replies[0]!.text).toMatch(
      /^internal error \(E[0-9a-z]+\): the command did not finish; check the host before trying again$/,
    );
    expect(replies[0]!.text).not.toContain('secret');
    expect(replies[0]!.text).not.toContain(' at ');
    expect((await records())[0]).toMatchObject({ outcome: 'failed' });
  });

  it('ignores chatter that is not addressed to the bot', async () => {
    const msg = say('alice', 'probe ok web01');
    msg.addressed = false;
    expect(await bot.handle(msg)).toEqual([]);
    expect(runs).toEqual([]);
    await expect(readFile(join(dir, 'audit.jsonl'), 'utf8')).rejects.toThrow();
  });

  describe('confirmation of destructive commands', () => {
    async function ask(nick = 'alice', channel = '#ops') {
      const replies = await bot.handle(say(nick, 'probe destroy web01', channel));
      expect(replies[0]!.kind).toBe('confirm');
      return replies[0]!.confirmCode!;
    }

    it('holds the command until the same identity confirms the code', async () => {
      const code = await ask();
      expect(code).toMatch(/^[A-Z2-9]{6}$/);
      expect(runs).toEqual([]);
      const replies = await bot.handle(say('alice', `confirm ${code.toLowerCase()}`));
      expect(replies[0]!.text).toBe('destroyed web01');
      expect(runs).toEqual(['destroy web01']);
      const [pending, intent, done] = await records();
      expect(pending).toMatchObject({ outcome: 'pending', command: 'probe destroy web01' });
      // Write-ahead: the intent is on disk before the command ran, and the outcome names it.
      expect(intent).toMatchObject({
        kind: 'intent',
        outcome: 'in-progress',
        command: `probe destroy web01 (confirmed ${code})`,
        path: 'probe.destroy',
      });
      expect(done).toMatchObject({
        kind: 'outcome',
        outcome: 'ok',
        intent: intent!.id,
        command: `probe destroy web01 (confirmed ${code})`,
        path: 'probe.destroy',
      });
    });

    it('is single use', async () => {
      const code = await ask();
      await bot.handle(say('alice', `confirm ${code}`));
      const again = await bot.handle(say('alice', `confirm ${code}`));
      expect(again[0]!.text).toBe(`no pending command has code ${code}`);
      expect(runs).toEqual(['destroy web01']);
    });

    it('refuses another person, even one allowed to run the command', async () => {
      const code = await ask();
      const replies = await bot.handle(say('carol', `confirm ${code}`));
      expect(replies[0]!.text).toBe(`code ${code} belongs to someone else`);
      expect(runs).toEqual([]);
      // The code stays valid for its owner.
      expect((await bot.handle(say('alice', `confirm ${code}`)))[0]!.text).toBe('destroyed web01');
    });

    it('refuses the code from another channel', async () => {
      const code = await ask('alice', '#ops');
      const replies = await bot.handle(say('alice', `confirm ${code}`, '#elsewhere'));
      expect(replies[0]!.text).toBe(`code ${code} was issued in another conversation`);
      expect(runs).toEqual([]);
    });

    it('lets the code lapse', async () => {
      const code = await ask();
      clock = new Date(clock.getTime() + 61_000);
      const replies = await bot.handle(say('alice', `confirm ${code}`));
      expect(replies[0]!.text).toBe(`code ${code} lapsed: run the command again`);
      expect(runs).toEqual([]);
      expect((await records())[1]).toMatchObject({
        outcome: 'lapsed',
        detail: expect.stringContaining(`code ${code} for probe destroy web01 lapsed`),
      });
    });

    it('can be cancelled', async () => {
      const code = await ask();
      expect((await bot.handle(say('alice', `cancel ${code}`)))[0]!.text).toBe(
        'cancelled: probe destroy web01',
      );
      expect((await bot.handle(say('alice', `confirm ${code}`)))[0]!.text).toBe(
        `no pending command has code ${code}`,
      );
      expect(runs).toEqual([]);
    });
  });
});
