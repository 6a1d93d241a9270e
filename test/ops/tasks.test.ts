/**
 * Tasks through the real Bot: a clone whose disk copy is held back (a gate on the host's virsh
 * `vol-clone`, released by the test) becomes task 1; `tasks`, `task show 1` and `task cancel 1` are
 * said as chat lines; its end is a line through the announcer and a record linked to the intent;
 * a task left running by a virtbot that stopped is reported, checked on the host, by the next.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../src/audit/log.js';
import { Bot } from '../../src/bot.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import type { Place, Reply } from '../../src/core/types.js';
import { LocalBackend } from '../../src/libvirt/backend.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { kindOrOutcome, startBot, type TestBot } from '../harness/bot.js';

const input: ConfigInput = {
  hosts: [
    { name: 'lab', uri: 'test:///default' },
    { name: 'lab2', uri: 'test:///default' },
  ],
  templates: [
    { name: 'tiny', distro: 'debian', version: '12', arch: 'x86_64', vcpus: 1, memory: '128M', disk: '64M' },
  ],
  users: { alice: { roles: ['all'] }, bob: { roles: ['look'] } },
  roles: { all: { permissions: ['*'] }, look: { permissions: ['tasks', 'task.show'] } },
  tasks: { afterSeconds: 0 },
};

/** A registry whose `vol-clone` waits until `open()`; tells when one is waiting. */
function gatedHosts(config: Config) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let waiting!: () => void;
  const reached = new Promise<void>((resolve) => {
    waiting = resolve;
  });
  const hosts = new HostRegistry(config, {
    backend: (host) => {
      const backend = new LocalBackend({ host: host.name, uri: host.uri });
      const run = backend.shell.run.bind(backend.shell);
      backend.shell.run = async (command, args, options) => {
        if (command === 'vol-clone') {
          waiting();
          await gate;
        }
        return run(command, args, options);
      };
      return backend;
    },
  });
  return { hosts, open, reached };
}

describe('tasks', () => {
  let t: TestBot | undefined;
  const posted: { place: Place; reply: Reply }[] = [];

  afterEach(async () => {
    await t?.close();
    t = undefined;
    posted.length = 0;
  });

  async function start(hosts?: HostRegistry) {
    const config = validateConfig(input);
    const gated = gatedHosts(config);
    t = await startBot(input, { hosts: hosts ?? gated.hosts });
    t.bot.announceWith(async (place, replies) => {
      for (const reply of replies) posted.push({ place, reply });
    });
    return { t, ...gated };
  }

  it('a long clone becomes task 1; its end is a line for the requester and a record linked to the intent', async () => {
    const { t, open, reached } = await start();
    await t.text('vm create web01 template=tiny host=lab', 'alice', '#ops');
    const started = await t.text('vm clone web01 web02', 'alice', '#ops');
    expect(started).toBe(
      "task 1 started: clone web01 to web02; 'task show 1' shows it, 'task cancel 1' stops it",
    );
    await reached;
    expect(await t.text('tasks', 'bob', '#ops')).toMatch(
      /^1 task running: 1 clone web01 to web02\ntask 1: clone web01 to web02 — running for \d+ s \(copying disk 1 of 1 \(vda, web01-disk0\.qcow2\)\); asked by alice in #ops$/,
    );
    // the VM stays locked while its task runs: a change to it waits
    const meanwhile = t.text('vm autostart web01 on', 'alice', '#ops');
    open();
    await t.bot.tasks.drain();
    expect(posted.map((p) => [p.place.channel, p.reply.text])).toEqual([
      [
        '#ops',
        expect.stringMatching(
          /^alice: task 1 done \(clone web01 to web02, \d+ s\): cloned web01 to web02 on lab: 1 disk copied/,
        ),
      ],
    ]);
    expect(await meanwhile).toBe('web01 now starts with host lab');
    const records = (await t.records()).filter((r) => r.path === 'vm.clone');
    expect(records.map(kindOrOutcome)).toEqual(['intent', 'in-progress', 'ok']);
    expect(records[1]!.intent).toBe(records[0]!.id);
    expect(records[2]!.intent).toBe(records[0]!.id);
    expect(records[2]!.detail).toMatch(/^task 1 done after \d+ s: Clone guest 'web01' to 'web02'/);
    expect(await t.text('vm info web02', 'alice', '#ops')).toContain('web02 on lab: shut off');
    // elsewhere, someone else does not see it; its author does, from anywhere
    expect(await t.text('tasks', 'bob', '#other')).toBe('no tasks running');
    expect(await t.text('task show 1', 'bob', '#other')).toBe("no task 1 (see 'tasks')");
    expect(await t.text('task show 1', 'alice', 'private')).toMatch(/^task 1: clone web01 to web02 — done/);
    expect(await t.text('task show 1', 'bob', '#ops')).toMatch(
      /^task 1: clone web01 to web02 — done after \d+ s: cloned/,
    );
  });

  it('task cancel stops a clone after its disk and removes what it made; others may not cancel without the permission', async () => {
    const { t, open, reached } = await start();
    await t.text('vm create web01 template=tiny host=lab', 'alice', '#ops');
    expect(await t.text('vm clone web01 web02', 'alice', '#ops')).toContain('task 1 started');
    await reached;
    expect(await t.text('task cancel 1', 'bob', '#ops')).toMatch(/^denied: /);
    expect(await t.text('task cancel 1', 'alice', '#ops')).toBe(
      'task 1 (clone web01 to web02) stops after its current step, and removes what it made',
    );
    open();
    await t.bot.tasks.drain();
    expect(posted[0]!.reply.text).toMatch(
      /^alice: task 1 cancelled \(clone web01 to web02, \d+ s\): cancelled \(cannot clone web01: cancelled\)$/,
    );
    expect(await t.text('vm info web02', 'alice', '#ops')).toContain("no VM 'web02'");
    const hv = t.bot.hosts.get('lab');
    expect(await hv.volumeExists('default-pool', 'web02-vda.qcow2')).toBe(false);
    expect((await t.records()).filter((r) => r.path === 'vm.clone').map(kindOrOutcome)).toEqual([
      'intent',
      'in-progress',
      'cancelled',
    ]);
  });

  it('a task left running when virtbot stopped is checked on the host and reported as outcome unknown', async () => {
    const { t, reached } = await start();
    await t.text('vm create web01 template=tiny host=lab', 'alice', '#ops');
    expect(await t.text('vm clone web01 web02', 'alice', '#ops')).toContain('task 1 started');
    await reached;
    await t.bot.tasks.flush();
    const stored = JSON.parse(readFileSync(join(t.dataDir, 'tasks.json'), 'utf8')) as {
      tasks: { state: string }[];
    };
    expect(stored.tasks.map((x) => x.state)).toEqual(['running']);
    // "the process stops": a new virtbot on the same data directory (and a fresh test driver)
    const next = new Bot({
      config: t.config,
      hosts: new HostRegistry(t.config),
      logger: pino({ level: 'silent' }),
    });
    const said: string[] = [];
    try {
      next.announceWith(async (_place, replies) => {
        for (const r of replies) said.push(r.text);
      });
      await next.tasksRecovered;
      expect(said).toEqual([
        'alice: task 1 (clone web01 to web02) was running when virtbot stopped: outcome unknown, checked: there is no VM web02 on lab',
      ]);
      const { readRecords } = await import('../../src/audit/log.js');
      const out = [];
      for (const file of await (next.audit as AuditLog).files())
        for await (const r of readRecords(file)) out.push(r);
      const clone = out.filter((r) => r.path === 'vm.clone');
      expect(clone.map(kindOrOutcome)).toEqual(['intent', 'in-progress', 'unknown']);
      expect(clone[2]!.intent).toBe(clone[0]!.id);
    } finally {
      await next.close();
    }
  });

  it('work that ends within afterSeconds is an ordinary reply, not a task', async () => {
    t = await startBot({ ...input, tasks: { afterSeconds: 60 } });
    expect(await t.text('vm snapshot create test quick host=lab', 'alice', '#ops')).toContain(
      'took snapshot quick of test',
    );
    expect(await t.text('tasks', 'alice', '#ops')).toBe('no tasks running');
  });
});
