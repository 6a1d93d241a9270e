/**
 * `npm run bench`: runs every benchmark (pipeline, replay, fan-out, footprint, the libvirt layer, input size, ops, PostgreSQL, failover) one after the other, prints each figure
 * (median, reference measured side by side, ratio, target) and writes BENCHMARKS.md with the
 * machine's description. A benchmark whose prerequisite is missing is skipped with its reason;
 * one that fails is reported as failed; the run always finishes.
 *
 *   node dist/bench/run.js [--quick] [--only 2,3] [--no-write] [--out FILE]
 *
 * --only and --quick runs print their figures but leave BENCHMARKS.md alone unless --out is given.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { failover } from './failover.js';
import { fanout } from './fanout.js';
import { firstCommand, infoWithHostDown, listFlat } from './flat.js';
import { footprint } from './footprint.js';
import { inputSize } from './input-size.js';
import { latency } from './latency.js';
import { describeMachine, diskTmpDir } from './lib/measure.js';
import { type BenchContext, type Benchmark, consoleSection, markdown, type Section } from './lib/report.js';
import { ops } from './ops.js';
import { postgresBench } from './postgres.js';
import { replayBench } from './replay.js';
import { throughput } from './throughput.js';

const BENCHMARKS: { id: number; title: string; run: Benchmark }[] = [
  { id: 1, title: 'Warm operation latency over SSH', run: latency },
  { id: 2, title: 'Pipeline throughput', run: throughput },
  { id: 3, title: 'Meeting replay', run: replayBench },
  { id: 4, title: 'Fan-out across 16 hosts', run: fanout },
  { id: 5, title: 'Footprint of `virtbot run`', run: footprint },
  { id: 6, title: '`vm list` with 1, 50 and 200 VMs', run: listFlat },
  { id: 7, title: '`vm info` while another host is down', run: infoWithHostDown },
  { id: 8, title: 'First command after start-up', run: firstCommand },
  { id: 9, title: 'Time per input byte, 1 KiB to 1 MiB lines', run: inputSize },
  { id: 10, title: 'Ops: `vm ip`, `vm stats`, event latency', run: ops },
  { id: 11, title: 'PostgreSQL store: `history` and durable records/s', run: postgresBench },
  { id: 12, title: 'Failover: SIGKILL → first answer from the other instance', run: failover },
];

/** Items 2, 3 and 9 need nothing else and go first; then the ones with external prerequisites. */
const ORDER = [2, 3, 9, 1, 4, 5, 6, 7, 8, 10, 11, 12];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      'no-write': { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const only = values.only?.split(',').map((s) => Number(s.trim()));
  const ctx: BenchContext = {
    root,
    quick: values.quick === true,
    log: (line) => process.stdout.write(`  ${line}\n`),
  };
  const t0 = performance.now();
  const sections: Section[] = [];
  for (const id of ORDER) {
    const bench = BENCHMARKS.find((b) => b.id === id)!;
    if (only && !only.includes(id)) continue;
    process.stdout.write(`[${id}] ${bench.title} …\n`);
    const started = performance.now();
    let section: Section;
    try {
      section = await bench.run(ctx);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stdout.write(`  failed: ${message}\n`);
      section = {
        id,
        title: bench.title,
        status: 'failed',
        reason: (error instanceof Error ? error.message : String(error)).split('\n')[0]!,
        figures: [],
        method: [],
        notes: [],
      };
    }
    section.seconds = (performance.now() - started) / 1000;
    sections.push(section);
    process.stdout.write(`${consoleSection(section)}\n`);
  }
  sections.sort((a, b) => a.id - b.id);
  const seconds = (performance.now() - t0) / 1000;
  const partial = only !== undefined || values.quick === true;
  const out = values.out ?? (partial || values['no-write'] ? undefined : join(root, 'BENCHMARKS.md'));
  if (out !== undefined && values['no-write'] !== true) {
    const scratch = await diskTmpDir('virtbot-bench-machine-');
    const machine = await describeMachine(scratch);
    const text = markdown(sections, machine, {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      seconds,
      command: partial ? `node dist/bench/run.js ${process.argv.slice(2).join(' ')}` : 'npm run bench',
      quick: values.quick === true,
    });
    await writeFile(out, text);
    const { rm } = await import('node:fs/promises');
    await rm(scratch, { recursive: true, force: true });
    process.stdout.write(`wrote ${out}\n`);
  }
  process.stdout.write(`bench finished in ${Math.round(seconds)} s\n`);
  return 0;
}

process.exitCode = await main();
