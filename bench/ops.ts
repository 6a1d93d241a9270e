/**
 * 10. Ops: `vm ip` and `vm stats` through the whole pipeline over SSH against the persistent-virsh
 * floor (the virsh commands virtbot issued for them, typed into one `ssh host virsh` kept open),
 * and the latency of an event (a HostEvent from a synthetic source → the chat line handed to the
 * announcer), median, against formatting that line and handing it over directly.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bot } from '../src/bot.js';
import type { Place, Reply } from '../src/core/types.js';
import { describeEvent } from '../src/events/router.js';
import type { EventListener, EventSource, HostEvent } from '../src/events/types.js';
import { HostRegistry } from '../src/libvirt/hosts.js';
import { STATS_INTERVAL_MS } from '../src/libvirt/stats.js';
import { benchBot, benchConfig, inMemoryRecords, send } from './lib/bot.js';
import { diskTmpDir, interleaved, median, now, sleep } from './lib/measure.js';
import { type BenchContext, type Figure, fmt, type Section, times } from './lib/report.js';
import {
  clientKey,
  createBenchVm,
  loadE2eEnv,
  PersistentVirsh,
  removeBenchVm,
  type SshTarget,
} from './lib/ssh.js';
import { sshApp, sshHost, virshIssued, virshLine } from './lib/sshbot.js';

const TITLE = 'Ops: `vm ip`, `vm stats`, event latency';
const VM = 'vbbench-ops';
const HOST = 'e2e';

const METHOD = [
  `\`vm ip\` and \`vm stats\` on a running VM (\`${VM}\`, as benchmark 1's) over SSH to scripts/setup-libvirt.sh's libvirtd + QEMU, through the whole pipeline (createApp, durable audit log), warm. The floor: the exact virsh commands virtbot issued for the command (recorded from its VirshShell, the target stage's lookup included), typed one after the other into one persistent \`ssh host virsh\`; for \`vm stats\` with the same ${STATS_INTERVAL_MS} ms wait between its two \`domstats\` samples. Interleaved rounds.`,
  'Event latency: a Bot on test:///default (no SSH needed) with `events on` said in 40 channels, one VM glob each; a synthetic EventSource emits a HostEvent for one of them; timed until the announcer is handed the line. With the default config (2 s coalescing window, leading edge: a quiet place gets its first event at once) and with coalescing off. Reference: `describeEvent` and a direct call of the same announcer.',
  'A storm: 1000 `stopped` events of one host in one go into one channel: how many lines reach the channel (coalescing and the 4-lines-per-10-s budget).',
];

class Synthetic implements EventSource {
  readonly listeners = new Set<EventListener>();
  subscribe(listener: EventListener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: HostEvent): void {
    for (const l of this.listeners) l(event);
  }
}

async function eventLatency(ctx: BenchContext, dir: string): Promise<{ figures: Figure[]; notes: string[] }> {
  const runs = ctx.quick ? 20 : 40;
  const measureWith = async (coalesceSeconds: number) => {
    const config = benchConfig(join(dir, `events-${coalesceSeconds}`), [
      { name: 'lab', uri: 'test:///default' },
    ]);
    config.events = { ...config.events, coalesceSeconds };
    const hosts = new HostRegistry(config);
    const bot = benchBot(config, hosts);
    inMemoryRecords(bot);
    let waiting: (() => void) | undefined;
    let lines = 0;
    bot.announceWith(async (_place: Place, replies: Reply[]) => {
      lines += replies.length;
      waiting?.();
    });
    const source = new Synthetic();
    bot.attachEvents(source);
    const channel = (i: number): Place => ({
      transport: 'console',
      network: '',
      channel: `#ev${i}`,
      private: false,
    });
    for (let i = 0; i < runs; i++) {
      await bot.handle({
        place: channel(i),
        sender: { nick: 'bench', local: true },
        text: `events on vm=vm${i}`,
        time: new Date(),
        addressed: true,
      });
    }
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const arrived = new Promise<void>((resolve) => {
        waiting = resolve;
      });
      const t0 = now();
      source.emit({ host: 'lab', vm: `vm${i}`, kind: 'crashed', time: new Date() });
      await arrived;
      samples.push(now() - t0);
    }
    // the storm, in a channel of its own
    await bot.handle({
      place: channel(999),
      sender: { nick: 'bench', local: true },
      text: 'events on host=storm',
      time: new Date(),
      addressed: true,
    });
    lines = 0;
    for (let i = 0; i < 1000; i++)
      source.emit({ host: 'storm', vm: `s${i}`, kind: 'stopped', time: new Date() });
    await bot.events.flush();
    const stormLines = lines;
    await bot.close();
    return { samples, stormLines };
  };
  const direct = async () => {
    const samples: number[] = [];
    let waiting: (() => void) | undefined;
    const announce = async (_p: Place, _r: Reply[]) => waiting?.();
    for (let i = 0; i < runs; i++) {
      const arrived = new Promise<void>((resolve) => {
        waiting = resolve;
      });
      const t0 = now();
      const event: HostEvent = { host: 'lab', vm: `vm${i}`, kind: 'crashed', time: new Date() };
      void announce({ transport: 'console', network: '', channel: '#d', private: false }, [
        { text: describeEvent(event), kind: 'reply' },
      ]);
      await arrived;
      samples.push(now() - t0);
    }
    return samples;
  };
  const withDefault = await measureWith(2);
  const without = await measureWith(0);
  const floor = median(await direct());
  const us = (ms: number) => ms * 1000;
  const figure = (label: string, samples: number[]): Figure => {
    const m = median(samples);
    return {
      label,
      value: us(m),
      unit: 'µs',
      runs: samples.length,
      reference: { label: 'describeEvent + the announcer called directly', value: us(floor), unit: 'µs' },
      ratio: `${times(m / floor)} the direct call (+${fmt(us(m - floor))} µs)`,
    };
  };
  return {
    figures: [
      figure(
        'event → chat line, default config (2 s coalescing, a quiet place: leading edge)',
        withDefault.samples,
      ),
      figure('event → chat line, coalescing off', without.samples),
      {
        label: 'a storm of 1000 `stopped` events of one host: lines posted in the channel',
        value: withDefault.stormLines,
        unit: 'lines',
        runs: 1,
        reference: { label: 'events', value: 1000, unit: 'events' },
        ratio: `${fmt(1000 / Math.max(1, withDefault.stormLines))} events per line`,
      },
    ],
    notes: [
      'Events arriving in a place within its coalescing window after a first one wait for the window (2 s by default) and go out together; the figures above are for a place that was quiet.',
    ],
  };
}

export async function ops(ctx: BenchContext): Promise<Section> {
  const dir = await diskTmpDir('virtbot-bench-ops-');
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    const events = await eventLatency(ctx, dir);
    // Without the SSH host, the section still has the event figures.
    const eventsOnly = (why: string): Section => ({
      id: 10,
      title: TITLE,
      status: 'ran',
      figures: events.figures,
      method: METHOD,
      notes: [...notes, `\`vm ip\` and \`vm stats\` skipped: ${why}`, ...events.notes],
    });
    const env = await loadE2eEnv();
    if (typeof env === 'string') {
      return eventsOnly(env);
    }
    const bot = await sshApp(join(dir, 'data'), [sshHost(HOST, env.uri, env)]);
    if (typeof bot === 'string') {
      return eventsOnly(bot);
    }
    const { key, dispose } = await clientKey(env);
    const target: SshTarget = {
      host: env.ssh.host,
      port: env.ssh.port,
      user: env.ssh.user,
      key,
      knownHosts: env.ssh.knownHosts ?? '',
    };
    const floor = PersistentVirsh.overSsh(target, env.uri);
    try {
      ctx.log(`creating VM ${VM} on ${env.uri} over SSH`);
      await createBenchVm(target, env, VM);
      await floor.start();
      figures.push(...(await versusFloor(ctx, bot, floor, notes)));
    } finally {
      await floor.close().catch(() => undefined);
      await bot.close().catch(() => undefined);
      await removeBenchVm(target, env, VM).catch(() => undefined);
      await dispose();
    }
    return {
      id: 10,
      title: TITLE,
      status: 'ran',
      figures: [...figures, ...events.figures],
      method: METHOD,
      notes: [...notes, ...events.notes],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function versusFloor(
  ctx: BenchContext,
  bot: Bot,
  floor: PersistentVirsh,
  notes: string[],
): Promise<Figure[]> {
  const rounds = ctx.quick ? 2 : 4;
  const perRound = ctx.quick ? 2 : 4;
  const out: Figure[] = [];
  for (const [command, expect, interval] of [
    [`vm ip ${VM} host=${HOST}`, /no address known|from/, false],
    [`vm stats ${VM} host=${HOST}`, /CPU/, true],
  ] as const) {
    await send(bot, command, expect);
    const issued = await virshIssued(bot, HOST, () => send(bot, command, expect));
    notes.push(
      `\`${command.split(' ').slice(0, 2).join(' ')}\` issued ${issued.length} virsh commands: ${issued.map((c) => c.command).join(', ')}.`,
    );
    const lines = issued.map(virshLine);
    const firstDomstats = issued.findIndex((c) => c.command === 'domstats');
    const many = (fn: () => Promise<unknown>) => async () => {
      const samples: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const t0 = now();
        await fn();
        samples.push(now() - t0);
      }
      return samples;
    };
    const result = await interleaved(rounds, [
      { name: 'pipeline', run: many(() => send(bot, command, expect)) },
      {
        name: 'floor',
        run: many(async () => {
          for (const [i, line] of lines.entries()) {
            if (interval && i > firstDomstats && issued[i]!.command === 'domstats')
              await sleep(STATS_INTERVAL_MS);
            // virsh errors are answers too (a source with no address): virtbot got the same
            await floor.run(line).catch(() => undefined);
          }
        }),
      },
    ]);
    const p = median(result.get('pipeline')!.flat());
    const f = median(result.get('floor')!.flat());
    out.push({
      label: `\`${command.split(' ').slice(0, 2).join(' ')}\` through the pipeline over SSH vs the persistent-virsh floor${interval ? ` (both with the ${STATS_INTERVAL_MS} ms between samples)` : ''}`,
      value: p,
      unit: 'ms',
      runs: result.get('pipeline')!.flat().length,
      reference: { label: 'persistent virsh (floor)', value: f, unit: 'ms' },
      ratio: `${times(p / f)} the floor (+${fmt(p - f)} ms)`,
    });
  }
  return out;
}
