/**
 * End to end, the ops commands on a real libvirtd + QEMU (TCG) reached over a real sshd on
 * 127.0.0.1 as an unprivileged user (scripts/setup-libvirt.sh's env file): snapshots, guest
 * addresses and agent, usage, clones and the rest of the life cycle, tasks, and events from a
 * real `virsh event` stream. Every command goes through the whole pipeline from an
 * InboundMessage; every effect is checked with an independent local `virsh`. Skips, saying why,
 * when the env file is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TemplateSchema } from '../../src/config/sections/hosts.js';
import type { Place, Reply } from '../../src/core/types.js';
import type { EventListener, EventSource } from '../../src/events/types.js';
import { fromVirshEvent } from '../../src/events/virsh.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { kindOrOutcome, startBot, type TestBot } from '../harness/bot.js';
import { ENV_FILE, env, skipReason, sshHost, virsh } from './env.js';

const why = skipReason();
if (why) console.warn(`e2e ops suite skipped: ${why}`);

/** A real event stream for the test: a local `virsh event --all --loop --timestamp`, read by the adapter. */
class VirshEvents implements EventSource {
  private readonly listeners = new Set<EventListener>();
  private child: ChildProcess | undefined;
  ready!: Promise<void>;

  start(host: string): void {
    this.child = spawn('virsh', ['-c', env!.uri, 'event', '--all', '--loop', '--timestamp'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const lines = createInterface({ input: this.child.stdout! });
    this.ready = new Promise((resolve) => this.child!.once('spawn', () => resolve()));
    lines.on('line', (line) => {
      const event = fromVirshEvent(host, line);
      if (event) for (const l of this.listeners) l(event);
    });
  }
  subscribe(listener: EventListener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  stop(): void {
    this.child?.kill();
  }
}

const TITLE = why ? `ops on QEMU over SSH — skipped: ${why}` : `ops on QEMU over SSH (${ENV_FILE})`;

describe.skipIf(why !== undefined)(TITLE, () => {
  const base = `vbops-${process.pid}-${Date.now().toString(36)}`;
  const vm = `${base}-a`;
  const copy = `${base}-b`;
  const renamed = `${base}-c`;
  const slow = `${base}-d`;
  let t: TestBot;
  let hosts: HostRegistry;
  const posted: { place: Place; reply: Reply }[] = [];
  const waiters: { match: RegExp; resolve: (text: string) => void }[] = [];
  const events = new VirshEvents();

  /** Resolves with the first announced line matching `match` (already posted or to come). */
  function announced(match: RegExp, timeoutMs = 30_000): Promise<string> {
    const seen = posted.find((p) => match.test(p.reply.text));
    if (seen) return Promise.resolve(seen.reply.text);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no line matching ${match} within ${timeoutMs} ms: ${JSON.stringify(posted.map((p) => p.reply.text))}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        match,
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
      });
    });
  }

  const say = (line: string, where = '#ops') => t.confirmed(line, 'tester', where);
  /** Says `line`; when its work became a task, waits for the task's end and gives that line. */
  async function done(line: string): Promise<string> {
    const reply = await say(line);
    const task = /^task (\d+) started/.exec(reply);
    return task ? announced(new RegExp(`^tester: task ${task[1]} done`), 120_000) : reply;
  }

  beforeAll(async () => {
    const host = sshHost();
    const template = TemplateSchema.parse({
      name: 'tiny',
      distro: 'debian',
      version: '12',
      arch: 'x86_64',
      vcpus: 1,
      memory: '128M',
      disk: '64M',
      pool: env!.pool,
      networks: [env!.network],
    });
    hosts = new HostRegistry({ hosts: [host], templates: [template] });
    t = await startBot(
      {
        hosts: [host],
        templates: [template],
        users: { tester: { local: true, roles: ['all'] } },
        roles: { all: { permissions: ['*'] } },
        tasks: { afterSeconds: 3 },
        events: { coalesceSeconds: 0, burst: 100, perSeconds: 1 },
      },
      { hosts },
    );
    t.bot.announceWith(async (place, replies) => {
      for (const reply of replies) {
        posted.push({ place, reply });
        for (const w of waiters.filter((x) => x.match.test(reply.text))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(reply.text);
        }
      }
    });
    events.start('e2e');
    await events.ready;
    t.bot.attachEvents(events);
  }, 60_000);

  afterAll(async () => {
    events.stop();
    await t?.close();
    for (const name of [vm, copy, renamed, slow]) {
      await virsh('destroy', name).catch(() => undefined);
      await virsh('undefine', name, '--snapshots-metadata').catch(() => undefined);
    }
    const vols = await virsh('vol-list', env!.pool).catch(() => '');
    for (const m of vols.matchAll(new RegExp(`(${base}\\S*)`, 'g'))) {
      await virsh('vol-delete', '--pool', env!.pool, m[1]!).catch(() => undefined);
    }
  });

  test('snapshots: internal with memory while running, listed, reverted and deleted (confirmed)', async () => {
    expect(await say(`vm create ${vm} template=tiny`)).toContain(`created ${vm} from tiny on e2e`);
    expect(await say(`vm start ${vm}`)).toBe(`started ${vm}`);
    expect(await done(`vm snapshot create ${vm} one description="first one"`)).toContain(
      `took snapshot one of ${vm} (internal: its disks, and its memory when it runs)`,
    );
    expect(await virsh('snapshot-list', vm, '--name')).toContain('one');
    expect(await virsh('snapshot-info', vm, 'one')).toMatch(/State:\s+running[\s\S]*Location:\s+internal/);
    expect(await done(`vm snapshot create ${vm} two`)).toContain(`took snapshot two of ${vm}`);
    expect(await say(`vm snapshot list ${vm}`)).toMatch(
      new RegExp(`^${vm} has 2 snapshots: one \\(.*running\\), two \\(.*running, current\\)`),
    );
    expect(await done(`vm snapshot revert ${vm} one`)).toMatch(
      new RegExp(`reverted ${vm} to snapshot one \\(taken .*, when it was running\\)$`),
    );
    expect((await virsh('snapshot-current', vm, '--name')).trim()).toBe('one');
    expect((await virsh('domstate', vm)).trim()).toBe('running');
    expect(await done(`vm snapshot delete ${vm} two`)).toContain(`deleted snapshot two of ${vm}`);
    expect(await virsh('snapshot-list', vm, '--name')).not.toContain('two');
  }, 180_000);

  test('addresses and the guest agent: each source says why it has nothing', async () => {
    const ip = await say(`vm ip ${vm}`);
    expect(ip).toMatch(
      new RegExp(
        `^no address known for ${vm}: lease: no DHCP lease .*; arp: .*; agent: no guest agent channel in its definition`,
      ),
    );
    expect(await say(`vm agent info ${vm}`)).toBe(
      `no guest agent for ${vm}: no guest agent channel in its definition`,
    );
  });

  test('usage of a VM and of the host, from two domstats samples', async () => {
    const stats = await say(`vm stats ${vm}`);
    expect(stats).toMatch(
      new RegExp(
        `^${vm} on e2e: CPU [\\d.]+% of 1 vCPU, mem 128M \\(\\d+(\\.\\d)?[MG] resident[^)]*\\), disk r \\S+ [KMG]?B/s w \\S+ [KMG]?B/s, net in \\S+ [KMG]?B/s out \\S+ [KMG]?B/s \\(over 1\\.\\d s\\)$`,
      ),
    );
    expect(await say('host stats')).toMatch(
      /^e2e: CPU [\d.]+% of \d+ CPUs?, \d+ running VMs? holding \S+ of \S+$/,
    );
    const top = await say('host top');
    expect(top).toMatch(new RegExp(`^busiest of \\d+ running VMs? on 1 host: .*${vm} on e2e \\(`));
    expect(top).toMatch(new RegExp(`\\n${vm} on e2e: CPU `));
  }, 60_000);

  test('life cycle: suspend, resume, autostart, describe, reset; events of own commands are linked, others posted', async () => {
    // Only this suite's VMs: the host is shared with other suites, whose VMs have events too.
    expect(await say(`events on host=e2e vm=${base}* kinds=all`, '#noc')).toContain('now go to #noc');
    expect(await say(`vm suspend ${vm}`)).toContain(`suspended ${vm}`);
    expect((await virsh('domstate', vm)).trim()).toBe('paused');
    expect(
      await announced(new RegExp(`^${vm} on e2e was suspended \\(paused\\) — by tester's \`vm suspend\``)),
    ).toBeDefined();
    expect(await say(`vm resume ${vm}`)).toBe(`resumed ${vm}`);
    expect((await virsh('domstate', vm)).trim()).toBe('running');
    expect(await say(`vm autostart ${vm} on`)).toBe(`${vm} now starts with host e2e`);
    expect(await virsh('dominfo', vm)).toMatch(/Autostart:\s+enable/);
    expect(await say(`vm autostart ${vm} off`)).toBe(`${vm} no longer starts with host e2e`);
    expect(await say(`vm describe ${vm} "made by the ops suite" title=ops`)).toBe(
      `description of ${vm} set, live and in config; title of ${vm} set to 'ops'`,
    );
    expect((await virsh('desc', vm, '--config')).trim()).toBe('made by the ops suite');
    expect((await virsh('desc', vm, '--title')).trim()).toBe('ops');
    expect(await say(`vm reset ${vm}`)).toContain(`reset ${vm}`);
    // a stop outside virtbot (the observer's own virsh) is news
    await virsh('destroy', vm);
    expect(
      await announced(
        new RegExp(`^${vm} on e2e stopped outside virtbot \\(destroyed, \\d\\d:\\d\\d UTC\\)$`),
      ),
    ).toBeDefined();
    // events went to #noc only: #ops has only the lines of its tasks
    expect(
      posted.filter((p) => p.place.channel !== '#noc').every((p) => p.reply.text.startsWith('tester: task ')),
    ).toBe(true);
  }, 120_000);

  test('clone: a copied disk in the pool and new MACs; rename while off (confirmed)', async () => {
    const cloned = await say(`vm clone ${vm} ${copy}`);
    expect(cloned).toMatch(
      new RegExp(
        `^cloned ${vm} to ${copy} on e2e: 1 disk copied \\(vda → /var/lib/virtbot-e2e/pool/${copy}-vda\\.qcow2\\), 1 new MAC, access reset`,
      ),
    );
    const [src, dst] = [await virsh('dumpxml', '--inactive', vm), await virsh('dumpxml', '--inactive', copy)];
    const mac = (xml: string) => /<mac address='([0-9a-f:]+)'\/>/.exec(xml)![1];
    expect(mac(dst)).not.toBe(mac(src));
    expect(dst).toContain(`<source file='/var/lib/virtbot-e2e/pool/${copy}-vda.qcow2'/>`);
    expect(dst).toContain("<model type='virtio'/>");
    expect(/<uuid>(.*)<\/uuid>/.exec(dst)![1]).not.toBe(/<uuid>(.*)<\/uuid>/.exec(src)![1]);
    expect(await virsh('vol-list', env!.pool)).toContain(`${copy}-vda.qcow2`);
    expect(await say(`vm rename ${copy} ${vm}`)).toContain(`a VM named '${vm}' already exists on e2e`);
    expect(await say(`vm rename ${copy} ${renamed}`)).toContain(`renamed ${copy} to ${renamed} on e2e`);
    expect((await virsh('domstate', renamed)).trim()).toBe('shut off');
    await expect(virsh('domstate', copy)).rejects.toThrow();
  }, 120_000);

  test('a clone still running after afterSeconds is a task; its end is announced and recorded against its intent', async () => {
    // afterSeconds 0: every clone outlasts it, so this one is a task for sure.
    t.bot.reload({ ...t.config, tasks: { afterSeconds: 0, inline: false } });
    const started = await say(`vm clone ${renamed} ${slow}`);
    expect(started).toMatch(
      new RegExp(
        `^task (\\d+) started: clone ${renamed} to ${slow}; 'task show \\1' shows it, 'task cancel \\1' stops it$`,
      ),
    );
    const id = /^task (\d+)/.exec(started)![1];
    expect(await say(`task show ${id}`)).toMatch(
      new RegExp(`^task ${id}: clone ${renamed} to ${slow} — (running for|done after)`),
    );
    const end = await announced(new RegExp(`^tester: task ${id} done`), 120_000);
    expect(end).toContain(`cloned ${renamed} to ${slow} on e2e`);
    expect((await virsh('domstate', slow)).trim()).toBe('shut off');
    const records = (await t.records()).filter((r) => r.path === 'vm.clone' && r.vm === renamed);
    expect(records.map(kindOrOutcome)).toEqual(['intent', 'in-progress', 'ok']);
    expect(records[2]!.intent).toBe(records[0]!.id);
  }, 150_000);
});
