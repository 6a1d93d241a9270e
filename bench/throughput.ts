/**
 * 2. Pipeline throughput: commands per second through identify → meeting → record( parse →
 * resolve → validate → authorize → confirm → execute ) and back, with in-memory records, on a
 * no-op command, on `vm info` with a no-op libvirt backend and on test:///default; then durable
 * audit records per second with 32 commands in flight.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/log.js';
import { bindTokens } from '../src/command/bind.js';
import { CommandRegistry } from '../src/command/registry.js';
import type { AuditRecord } from '../src/core/types.js';
import { tokenize } from '../src/grammar/tokenize.js';
import { HostRegistry } from '../src/libvirt/hosts.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { benchBot, benchConfig, benchGroup, consoleMessage, inMemoryRecords, pump, send } from './lib/bot.js';
import { cannedFromTestDriver, FakeHostRegistry } from './lib/fake-virsh.js';
import { capture, diskTmpDir, interleaved, median } from './lib/measure.js';
import { type BenchContext, type Figure, fmt, type Section, times } from './lib/report.js';

const TITLE = 'Pipeline throughput';

/** The libvirt calls `vm info test` makes, without the pipeline. */
async function vmInfoCalls(hv: Hypervisor): Promise<void> {
  if (!(await hv.exists('test'))) throw new Error('no VM test');
  await Promise.all([hv.domainSummary('test'), hv.domain('test')]);
}

function rate(count: number, ms: number): number {
  return count / (ms / 1000);
}

export async function throughput(ctx: BenchContext): Promise<Section> {
  const rounds = ctx.quick ? 3 : 5;
  const n = {
    noop: ctx.quick ? 5000 : 20_000,
    info: ctx.quick ? 3000 : 10_000,
    driver: ctx.quick ? 100 : 300,
    durable: ctx.quick ? 5000 : 20_000,
    serial: ctx.quick ? 100 : 300,
  };
  const dir = await diskTmpDir('virtbot-bench-throughput-');
  const figures: Figure[] = [];
  const notes: string[] = [];
  const method = [
    'One process; the real `Bot` (identify, meetings, record, parse, resolve, validate, authorize, confirm, execute) ' +
      'with a configured user whose role allows `*`, fed console-style messages (`transport: console`, `local: true`).',
    '`bench noop VM` is a command declared in bench/ (a typed `vm` argument, no host target) whose `run` does nothing: it measures the pipeline itself. Its reference is the grammar alone: `tokenize` → `CommandRegistry.resolve` → `bindTokens` → `run`, without identity, authorization, record or reply.',
    '`vm info test` on a no-op backend: the real command, Hypervisor and VirshShell framing, answered in-process on the next microtask by a stand-in for virsh with the output test:///default gives. Reference: the same three libvirt calls (`domstate`, `dominfo`, `dumpxml`) on the same backend without the pipeline.',
    '`vm info test` on test:///default: a real `virsh -c test:///default` child per Hypervisor. Reference: the same libvirt calls on a second such virsh, without the pipeline.',
    'In-memory records: the Bot’s `audit.append` replaced by a counter. Durable records: the real AuditLog (JSONL, write + fdatasync, group commit) on a disk-backed directory; its reference is `AuditLog.append` alone with the same records and the same number in flight.',
    `Each variant runs once per round, interleaved with its reference; ${rounds} rounds; figures are medians.`,
  ];
  try {
    // --------------------------------------------------------------- no-op backend, in memory
    const { canned, source } = await cannedFromTestDriver();
    notes.push(`No-op backend answers: ${source}.`);
    const fakeConfig = benchConfig(join(dir, 'fake'), [{ name: 'test', uri: 'test:///default' }]);
    const fakeHosts = new FakeHostRegistry(fakeConfig, canned);
    const bot = benchBot(fakeConfig, fakeHosts);
    const records = inMemoryRecords(bot);
    await send(bot, 'bench noop test', /nothing done/);
    await send(bot, 'vm info test', /^test on test: running/);

    const registry = new CommandRegistry([benchGroup]);
    const grammarOnly = async () => {
      const tokens = tokenize('bench noop test');
      const { spec, consumed } = registry.resolve(tokens);
      const args = bindTokens(spec, tokens.slice(consumed), { hostNames: ['test'], now: () => new Date() });
      await spec.run({} as never, args);
    };
    const msg = () => consoleMessage('bench noop test');
    const fakeHv = fakeHosts.get('test');
    // Warm up the JIT.
    await pump(2000, 1, () => bot.handle(msg()));
    await pump(2000, 1, grammarOnly);
    await pump(500, 1, () => bot.handle(consoleMessage('vm info test')));
    await pump(500, 1, () => vmInfoCalls(fakeHv));

    const before = records.count();
    const mem = await interleaved(rounds, [
      { name: 'noop1', run: async () => rate(n.noop, await pump(n.noop, 1, () => bot.handle(msg()))) },
      { name: 'noop32', run: async () => rate(n.noop, await pump(n.noop, 32, () => bot.handle(msg()))) },
      { name: 'grammar', run: async () => rate(n.noop, await pump(n.noop, 1, grammarOnly)) },
      {
        name: 'info',
        run: async () =>
          rate(n.info, await pump(n.info, 1, () => bot.handle(consoleMessage('vm info test')))),
      },
      { name: 'infoDirect', run: async () => rate(n.info, await pump(n.info, 1, () => vmInfoCalls(fakeHv))) },
    ]);
    const recorded = records.count() - before;
    const expected = rounds * (2 * n.noop + n.info);
    if (recorded !== expected) throw new Error(`expected ${expected} records, got ${recorded}`);
    const sample = records.last()!;
    await bot.close();

    const grammar = median(mem.get('grammar')!);
    for (const [key, label] of [
      ['noop1', '`bench noop` (no-op command), in-memory records, 1 in flight'],
      ['noop32', '`bench noop` (no-op command), in-memory records, 32 in flight'],
    ] as const) {
      const value = median(mem.get(key)!);
      figures.push({
        label,
        value,
        unit: 'commands/s',
        runs: rounds,
        reference: { label: 'grammar + run alone', value: grammar, unit: 'commands/s' },
        ratio: `${times(grammar / value)} the grammar's time per command (${fmt(1e6 / value - 1e6 / grammar)} µs added)`,
        target: '≥ 50 000/s',
        met: value >= 50_000,
      });
    }
    const info = median(mem.get('info')!);
    const infoDirect = median(mem.get('infoDirect')!);
    figures.push({
      label: '`vm info test`, no-op libvirt backend, in-memory records, 1 in flight',
      value: info,
      unit: 'commands/s',
      runs: rounds,
      reference: { label: 'same libvirt calls, no pipeline', value: infoDirect, unit: 'calls/s' },
      ratio: `${times(infoDirect / info)} the calls' time (${fmt(1e6 / info - 1e6 / infoDirect)} µs added)`,
      target: '≥ 50 000/s',
      met: info >= 50_000,
    });

    // --------------------------------------------------------------- test:///default
    if ((await capture('virsh', ['-c', 'test:///default', 'uri'])) === undefined) {
      notes.push('`vm info` on test:///default skipped: virsh is not installed.');
    } else {
      const config = benchConfig(join(dir, 'driver'), [{ name: 'test', uri: 'test:///default' }]);
      const hosts = new HostRegistry(config);
      const driverBot = benchBot(config, hosts);
      inMemoryRecords(driverBot);
      const refHosts = new HostRegistry(config);
      const refHv = refHosts.get('test');
      try {
        await send(driverBot, 'vm info test', /^test on test: running/);
        await vmInfoCalls(refHv);
        await pump(50, 1, () => driverBot.handle(consoleMessage('vm info test')));
        await pump(50, 1, () => vmInfoCalls(refHv));
        const drv = await interleaved(rounds, [
          {
            name: 'pipeline',
            run: async () =>
              rate(n.driver, await pump(n.driver, 1, () => driverBot.handle(consoleMessage('vm info test')))),
          },
          {
            name: 'direct',
            run: async () => rate(n.driver, await pump(n.driver, 1, () => vmInfoCalls(refHv))),
          },
        ]);
        const value = median(drv.get('pipeline')!);
        const ref = median(drv.get('direct')!);
        figures.push({
          label: '`vm info test` on test:///default (virsh child), in-memory records, 1 in flight',
          value,
          unit: 'commands/s',
          runs: rounds,
          reference: { label: 'same virsh calls, no pipeline', value: ref, unit: 'calls/s' },
          ratio: `${times(ref / value)} the calls' time`,
        });
      } finally {
        await driverBot.close();
        await refHosts.close();
      }
    }

    // --------------------------------------------------------------- durable records
    const durableConfig = benchConfig(join(dir, 'durable'), [{ name: 'test', uri: 'test:///default' }]);
    const durableBot = benchBot(durableConfig, new FakeHostRegistry(durableConfig, canned));
    const plainLog = new AuditLog({ file: join(dir, 'plain', 'audit.jsonl'), rotateBytes: 1024 ** 3 });
    const record = (i: number): AuditRecord => ({
      ...sample,
      id: `${sample.id}-${i}`,
      time: new Date().toISOString(),
    });
    try {
      await send(durableBot, 'bench noop test', /nothing done/);
      await pump(1000, 32, () => durableBot.handle(msg()));
      await pump(1000, 32, (i) => plainLog.append(record(i)));
      const dur = await interleaved(rounds, [
        {
          name: 'pipe32',
          run: async () => rate(n.durable, await pump(n.durable, 32, () => durableBot.handle(msg()))),
        },
        {
          name: 'log32',
          run: async () => rate(n.durable, await pump(n.durable, 32, (i) => plainLog.append(record(i)))),
        },
        {
          name: 'pipe1',
          run: async () => rate(n.serial, await pump(n.serial, 1, () => durableBot.handle(msg()))),
        },
      ]);
      const p32 = median(dur.get('pipe32')!);
      const l32 = median(dur.get('log32')!);
      const p1 = median(dur.get('pipe1')!);
      figures.push({
        label: 'durable records/s: `bench noop` through the pipeline, 32 in flight',
        value: p32,
        unit: 'records/s',
        runs: rounds,
        reference: { label: '`AuditLog.append` alone, 32 in flight', value: l32, unit: 'records/s' },
        ratio: `${times(l32 / p32)} the log's time per record`,
        target: '≥ 20 000/s',
        met: p32 >= 20_000,
      });
      figures.push({
        label: 'durable records/s: `bench noop` through the pipeline, 1 in flight',
        value: p1,
        unit: 'records/s',
        runs: rounds,
        reference: { label: 'the same, 32 in flight', value: p32, unit: 'records/s' },
        ratio: `group commit: 32 in flight is ${times(p32 / p1)} faster`,
      });
      if (p32 < 20_000) {
        notes.push(
          `Durable records are bounded by fdatasync: no reply leaves before its record is synced, so with 32 commands in flight a flush carries at most 32 records. Measured: ${fmt(p32 / 32)} flushes/s at 32 in flight (≈ ${fmt((32 / p32) * 1000)} ms per batch write + fdatasync), ${fmt(p1)} records/s at 1 in flight (${fmt(1000 / p1)} ms per single-record sync). 20 000/s at 32 in flight needs a batch synced in under 1.6 ms; on this shared virtual disk it is not. The log alone (${fmt(l32)}/s) sets the ceiling the pipeline reaches within ${times(l32 / p32)}.`,
        );
      }
    } finally {
      await durableBot.close();
      await plainLog.close();
    }
    const missed = figures.filter((f) => f.met === false);
    if (missed.some((f) => f.unit === 'commands/s')) {
      notes.push(
        'Where the in-memory rate misses 50 000/s, the time added over the grammar is the pipeline’s own per-command work (identity, meeting lookup, authorization, record building, reply) plus the async hops between stages.',
      );
    }
    return { id: 2, title: TITLE, status: 'ran', figures, method, notes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
