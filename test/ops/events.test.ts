/**
 * Events in chat, through the real Bot: subscriptions made with `events on` (InboundMessages
 * through the whole pipeline), a synthetic event source plugged in with `bot.attachEvents`, the
 * lines read from the bot's announcer. Own changes are real commands (`vm stop`) on two hosts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../src/bot.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Place, Reply } from '../../src/core/types.js';
import type { EventListener, EventSource, HostEvent } from '../../src/events/types.js';
import { fromVirshEvent } from '../../src/events/virsh.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { linesOf, startBot, type TestBot } from '../harness/bot.js';
import { PROD_NODE } from '../harness/example-config.js';

class SyntheticSource implements EventSource {
  private readonly listeners = new Set<EventListener>();
  subscribe(listener: EventListener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: Omit<HostEvent, 'time'> & { time?: Date }): void {
    for (const l of this.listeners) l({ time: new Date(), ...event });
  }
}

const config = (extra: Partial<ConfigInput> = {}): ConfigInput => ({
  hosts: [
    { name: 'lab', uri: 'test:///default' },
    { name: 'prod-1', uri: `test://${PROD_NODE}` },
  ],
  users: { alice: { roles: ['all'] }, bob: { roles: ['watcher'] }, carol: { roles: ['events'] } },
  roles: {
    all: { permissions: ['*'] },
    watcher: { permissions: ['events.list'] },
    events: { permissions: ['events.*', 'vm.list'] },
  },
  rules: [
    { name: 'prod is private', permission: 'vm.*', host: 'prod-*', effect: 'require-role', roles: ['all'] },
  ],
  // Long coalescing windows: the test decides when a place's events go out (`flush`).
  events: { coalesceSeconds: 60, burst: 4, perSeconds: 600 },
  ...extra,
});

describe('events in chat', () => {
  let t: TestBot | undefined;
  const posted: { place: Place; reply: Reply }[] = [];
  const lines = (channel: string) =>
    posted.filter((p) => p.place.channel === channel).map((p) => p.reply.text);

  async function start(extra: Partial<ConfigInput> = {}) {
    posted.length = 0;
    t = await startBot(config(extra), { meetings: true });
    t.bot.announceWith(async (place, replies) => {
      for (const reply of replies) posted.push({ place, reply });
    });
    const source = new SyntheticSource();
    t.bot.attachEvents(source);
    return { t, source };
  }

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('posts a crash, a stop outside virtbot, a released device and a lost host where subscribed, and nothing elsewhere', async () => {
    const { t, source } = await start();
    expect(await t.text('events on host=prod-*', 'alice', '#ops')).toContain(
      'events of host prod-*, VM * now go to #ops',
    );
    source.emit({
      host: 'prod-1',
      vm: 'web-prod',
      kind: 'crashed',
      detail: 'panicked',
      time: new Date('2026-12-01T12:03:00Z'),
    });
    await t.bot.events.idle();
    expect(lines('#ops')).toEqual(['web-prod on prod-1 crashed (panicked, 12:03 UTC)']);
    source.emit({ host: 'lab', vm: 'test', kind: 'crashed' });
    source.emit({ host: 'prod-1', vm: 'db-prod', kind: 'suspended' });
    source.emit({
      host: 'prod-1',
      vm: 'db-prod',
      kind: 'stopped',
      detail: 'shutdown',
      time: new Date('2026-12-01T12:04:00Z'),
    });
    source.emit({
      host: 'prod-1',
      vm: 'db-prod',
      kind: 'device-removed',
      detail: 'net0',
      time: new Date('2026-12-01T12:04:00Z'),
    });
    source.emit({
      host: 'prod-1',
      kind: 'host-lost',
      detail: 'ssh: connection reset',
      time: new Date('2026-12-01T12:05:00Z'),
    });
    await t.bot.events.flush();
    // lab is not subscribed; suspended is not among the default kinds
    expect(lines('#ops').slice(1)).toEqual([
      'db-prod on prod-1 stopped outside virtbot (shutdown, 12:04 UTC)',
      'db-prod on prod-1 released device net0 (12:04 UTC)',
      'host prod-1 lost: ssh: connection reset (12:05 UTC)',
    ]);
    expect(posted.every((p) => p.place.channel === '#ops')).toBe(true);
  });

  it('links events of virtbot’s own commands to them, and does not post them where the command was said', async () => {
    const { t, source } = await start();
    await t.text('events on host=prod-*', 'alice', '#ops');
    await t.text('events on host=prod-*', 'alice', '#noc');
    expect(await t.confirmed('vm stop web-prod', 'alice', '#ops')).toContain('stopped web-prod');
    source.emit({ host: 'prod-1', vm: 'web-prod', kind: 'stopped', detail: 'destroyed' });
    await t.bot.events.flush();
    expect(lines('#ops')).toEqual([]);
    expect(lines('#noc')).toEqual([
      expect.stringMatching(
        /^web-prod on prod-1 stopped \(destroyed\) — by alice's `vm stop`, \d\d:\d\d UTC$/,
      ),
    ]);
    // the same VM stopping on the other host is not this command's doing
    await t.text('events on host=lab', 'alice', '#noc');
    source.emit({ host: 'lab', vm: 'web-prod', kind: 'stopped' });
    await t.bot.events.flush();
    expect(lines('#noc')[1]).toMatch(/^web-prod on lab stopped outside virtbot \(\d\d:\d\d UTC\)$/);
  });

  it('coalesces a storm and keeps each place within its line budget', async () => {
    const { t, source } = await start();
    await t.text('events on host=storm-*', 'alice', '#storm');
    source.emit({ host: 'storm-1', vm: 'first', kind: 'started' });
    await t.bot.events.idle();
    expect(lines('#storm')).toEqual([expect.stringMatching(/^first on storm-1 started outside virtbot/)]);
    for (let i = 0; i < 12; i++) source.emit({ host: 'storm-1', vm: `vm${i}`, kind: 'stopped' });
    await t.bot.events.flush();
    expect(lines('#storm')[1]).toMatch(
      /^12 VMs on storm-1 stopped: vm0, vm1, vm2, vm3, vm4, vm5, vm6, vm7, …/,
    );
    // Three lines were posted of the four allowed: what does not fit is summed up on the last one.
    for (let h = 0; h < 5; h++) source.emit({ host: `storm-${h + 2}`, kind: 'host-lost' });
    await t.bot.events.flush();
    const storm = lines('#storm');
    expect(storm).toHaveLength(4);
    expect(storm[3]).toMatch(/^… and 4 more events on storm-3, storm-4, storm-5, storm-6: 4 host-lost/);
    // nothing else may go out now: it waits for the budget
    source.emit({ host: 'storm-9', kind: 'host-back' });
    expect(
      t.bot.events.waiting({ transport: 'console', network: '', channel: '#storm', private: false }),
    ).toBe(1);
  });

  it('puts events into the minutes of a meeting open in that channel', async () => {
    const { t, source } = await start();
    await t.text('events on host=prod-*', 'alice', '#ops');
    await t.say('#startmeeting events', 'alice', '#ops');
    source.emit({ host: 'prod-1', vm: 'web-prod', kind: 'crashed', detail: 'panicked' });
    await t.bot.events.idle();
    await t.say('#endmeeting', 'alice', '#ops');
    const dir = join(t.dataDir, 'minutes');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.txt') && !f.endsWith('.log.txt'),
    );
    expect(files).toHaveLength(1);
    expect(readFileSync(join(dir, files[0]!), 'utf8')).toContain('web-prod on prod-1 crashed (panicked, ');
  });

  it('keeps subscriptions made in chat across a restart; the config’s always apply; events are judged by permission', async () => {
    const { t } = await start({
      events: {
        channels: [{ transport: 'console', network: '', channel: '#noc', host: 'prod-*' }],
        coalesceSeconds: 60,
      },
    });
    await t.text('events on vm=db-* kinds=crashed', 'alice', '#ops');
    expect(await t.text('events on', 'bob', '#ops')).toMatch(/^denied: /);
    // carol may list lab's VMs, not prod-1's: she cannot have prod-1's events posted anywhere
    expect(await t.text('events on host=prod-*', 'carol', '#mine')).toMatch(
      /^you may not list the VMs of host prod-1 here \(rule 'prod is private'.*\), so its events cannot come here$/,
    );
    expect(await t.text('events on host=lab', 'carol', '#mine')).toContain('now go to #mine');
    expect(await t.text('events list', 'bob', '#noc')).toContain('#noc gets events of host prod-*, VM *');
    expect(await t.text('events off', 'alice', '#noc')).toContain('1 subscription of the config still apply');
    const stored = JSON.parse(readFileSync(join(t.dataDir, 'events.json'), 'utf8')) as {
      subscriptions: unknown[];
    };
    expect(stored.subscriptions).toHaveLength(2);
    // a new virtbot on the same data directory has it
    const again = new Bot({
      config: t.config,
      hosts: new HostRegistry(t.config),
      logger: pino({ level: 'silent' }),
    });
    try {
      const replies = await again.handle({
        place: { transport: 'console', network: '', channel: '#ops', private: false },
        sender: { nick: 'alice', local: true },
        text: 'events list',
        time: new Date(),
        addressed: true,
      });
      expect(linesOf(replies)).toContain('#ops gets events of host *, VM db-*: crashed (by alice)');
    } finally {
      await again.close();
    }
    // the file cannot be replaced (here: a directory where it should be; root ignores modes):
    // nothing changes, and the reply says so in one line
    const { mkdirSync, rmSync, writeFileSync } = await import('node:fs');
    const file = join(t.dataDir, 'events.json');
    rmSync(file);
    mkdirSync(file);
    writeFileSync(join(file, 'x'), '');
    expect(await t.text('events on vm=web*', 'alice', '#ops')).toMatch(
      /^the subscriptions could not be saved, so nothing changed: /,
    );
    expect(await t.text('events list', 'alice', '#ops')).not.toContain('web*');
  });
});

describe('the virsh event adapter', () => {
  const at = () => new Date('2026-12-01T00:00:00Z');
  it('reads `virsh event --all --loop --timestamp` lines', () => {
    expect(
      fromVirshEvent(
        'lab',
        "2026-12-01 12:03:00.123+0000: event 'lifecycle' for domain 'web01': Stopped Destroyed",
      ),
    ).toEqual({
      host: 'lab',
      vm: 'web01',
      kind: 'stopped',
      detail: 'destroyed',
      time: new Date('2026-12-01T12:03:00.123Z'),
    });
    expect(fromVirshEvent('lab', "event 'lifecycle' for domain 'web01': Stopped Crashed", at)?.kind).toBe(
      'crashed',
    );
    expect(fromVirshEvent('lab', "event 'lifecycle' for domain 'web01': Crashed Panicked", at)).toMatchObject(
      { kind: 'crashed', detail: 'panicked' },
    );
    expect(fromVirshEvent('lab', "event 'lifecycle' for domain 'web01': Started Booted", at)?.kind).toBe(
      'started',
    );
    expect(fromVirshEvent('lab', "event 'device-removed' for domain 'web01': net0", at)).toMatchObject({
      kind: 'device-removed',
      detail: 'net0',
    });
    expect(fromVirshEvent('lab', "event 'reboot' for domain 'web01'", at)).toBeUndefined();
    expect(fromVirshEvent('lab', 'events received: 3', at)).toBeUndefined();
  });
});
