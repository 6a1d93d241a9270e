/**
 * 3. Meeting replay: `virtbot replay` of a 100 001-line meeting log made by re-timing the seed
 * log's lines, as a child process: wall time, lines per second and peak memory, side by side
 * with a Node process that only reads and splits the same file.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskTmpDir, haveGnuTime, interleaved, median, runChild } from './lib/measure.js';
import { type BenchContext, type Figure, fmt, type Section, skipped, times } from './lib/report.js';

const TITLE = 'Meeting replay';
export const SEED = '/work/shared/seed/kimchi-scrum-2014-04-16.txt';
export const LINES = 100_001;

function hms(seconds: number): string {
  const s = seconds % 86_400;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/**
 * The seed's opening (#startmeeting, the bot's "Meeting started", #meetingname …), then its body
 * lines over and over, then #endmeeting: LINES lines, one meeting, re-timed to one line every
 * 0.36 s from the seed's start (13:01:55 to about 23:02, the same day).
 */
export function generateLog(seed: string, total = LINES): string {
  const lines = seed
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const parse = (l: string) => /^\d{2}:\d{2}:\d{2} (.*)$/.exec(l)?.[1];
  const said = lines.map(parse);
  if (said.some((s) => s === undefined)) throw new Error('the seed log has a line without HH:MM:SS');
  const start = said.findIndex((s) => / #startmeeting\b/.test(s!));
  const end = said.findIndex((s) => / #endmeeting\b/.test(s!));
  if (start < 0 || end < 0) throw new Error('the seed log has no #startmeeting … #endmeeting');
  // The opening: #startmeeting and what directly follows it up to the first ordinary line.
  let bodyFrom = start + 1;
  while (
    bodyFrom < end &&
    /Meeting started|Useful Commands|#meetingname|meeting name has been set/.test(said[bodyFrom]!)
  ) {
    bodyFrom++;
  }
  const opening = said.slice(start, bodyFrom) as string[];
  const body = (said.slice(bodyFrom, end) as string[]).filter(
    (s) => !/#(start|end)meeting\b|Meeting (started|ended)/.test(s),
  );
  const t0 = 13 * 3600 + 1 * 60 + 55;
  const out: string[] = [];
  const at = (i: number) => hms(t0 + Math.floor(i * 0.36));
  for (const s of opening) out.push(`${at(out.length)} ${s}`);
  for (let i = 0; out.length < total - 1; i++) out.push(`${at(out.length)} ${body[i % body.length]}`);
  out.push(`${at(out.length)} ${said[end]}`);
  return `${out.join('\n')}\n`;
}

export async function replayBench(ctx: BenchContext): Promise<Section> {
  const method = [
    `The log: the seed \`${SEED}\`'s opening (#startmeeting, the bot's "Meeting started", #meetingname), its body lines repeated, and #endmeeting — ${LINES} lines, one meeting, re-timed to a line every 0.36 s.`,
    '`node bin/virtbot.js replay LOG --out DIR` is spawned as a child under GNU time (`/usr/bin/time -f %M`) for its peak RSS; wall time is from spawn to exit, start-up included. lines/s = lines ÷ that wall time.',
    'Reference, interleaved with it: `node dist/bench/lib/read-lines.js LOG`, a Node process that streams and splits the same file the same way and does nothing else.',
    'Also interleaved: `node bin/virtbot.js --help`, the CLI’s start-up alone (same imports, no work), to separate start-up from replay work.',
  ];
  if (!existsSync(SEED)) return skipped(3, TITLE, `the seed log ${SEED} is missing`, method);
  const bin = join(ctx.root, 'bin', 'virtbot.js');
  const floor = join(ctx.root, 'dist', 'bench', 'lib', 'read-lines.js');
  const rounds = ctx.quick ? 3 : 5;
  const dir = await diskTmpDir('virtbot-bench-replay-');
  try {
    const log = join(dir, 'bench-scrum-2014-04-16.txt');
    await writeFile(log, generateLog(await readFile(SEED, 'utf8')));
    const outDir = join(dir, 'minutes');
    const summaries: string[] = [];
    const results = await interleaved(rounds, [
      {
        name: 'replay',
        run: async () => {
          await rm(outDir, { recursive: true, force: true });
          const r = await runChild(process.execPath, [bin, 'replay', log, '--out', outDir], {
            cwd: ctx.root,
          });
          if (r.code !== 0)
            throw new Error(`virtbot replay exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
          summaries.push(r.stdout);
          return r;
        },
      },
      {
        name: 'startup',
        run: async () => {
          const r = await runChild(process.execPath, [bin, '--help'], { cwd: ctx.root });
          if (r.code !== 0) throw new Error(`virtbot --help exited ${r.code}`);
          return r;
        },
      },
      {
        name: 'floor',
        run: async () => {
          const r = await runChild(process.execPath, [floor, log]);
          if (r.code !== 0 || !r.stdout.startsWith(`${LINES} lines`))
            throw new Error(`read-lines: ${r.stdout.trim()} ${r.stderr.trim()}`);
          return r;
        },
      },
    ]);
    const summary = summaries[0]!;
    const m = /: (\d+) lines \((\d+) chat lines.*?(\d+) unreadable\) in (\d+) ms/.exec(summary);
    if (!m || Number(m[1]) !== LINES) throw new Error(`unexpected replay summary: ${summary.slice(0, 300)}`);
    if (Number(m[3]) !== 0) throw new Error(`replay found ${m[3]} unreadable lines`);
    if (!/Meeting ".*" started by/.test(summary)) throw new Error('replay found no meeting');
    const inner = summaries.map((s) => Number(/ in (\d+) ms/.exec(s)?.[1] ?? 'NaN'));

    const replayRuns = results.get('replay')!;
    const floorRuns = results.get('floor')!;
    const startRuns = results.get('startup')!;
    const startWall = median(startRuns.map((r) => r.wallMs));
    const wall = median(replayRuns.map((r) => r.wallMs));
    const floorWall = median(floorRuns.map((r) => r.wallMs));
    const figures: Figure[] = [
      {
        label: `wall time, ${LINES} lines (process start to exit)`,
        value: wall,
        unit: 'ms',
        runs: rounds,
        reference: { label: 'read and split the file in Node', value: floorWall, unit: 'ms' },
        ratio: `${times(wall / floorWall)} the floor`,
      },
      {
        label: 'lines/s (whole process)',
        value: LINES / (wall / 1000),
        unit: 'lines/s',
        runs: rounds,
        reference: { label: 'read and split', value: LINES / (floorWall / 1000), unit: 'lines/s' },
        ratio: `${times(wall / floorWall)} slower than the floor`,
        target: '≥ 200 000 lines/s',
        met: LINES / (wall / 1000) >= 200_000,
      },
      {
        label: 'of which start-up: `virtbot --help` (loads the CLI and exits)',
        value: startWall,
        unit: 'ms',
        runs: rounds,
        reference: { label: 'replay wall time', value: wall, unit: 'ms' },
        ratio: `${fmt((100 * startWall) / wall)} % of the replay's wall time`,
      },
      {
        label: 'lines/s inside `replay()` (its own clock, start-up excluded)',
        value: LINES / (median(inner) / 1000),
        unit: 'lines/s',
        runs: rounds,
      },
    ];
    const notes: string[] = [];
    if (haveGnuTime()) {
      const rss = median(replayRuns.map((r) => r.maxRssKiB ?? Number.NaN)) / 1024;
      const floorRss = median(floorRuns.map((r) => r.maxRssKiB ?? Number.NaN)) / 1024;
      const startRss = median(startRuns.map((r) => r.maxRssKiB ?? Number.NaN)) / 1024;
      figures.push({
        label: 'peak RSS of `virtbot replay`',
        value: rss,
        unit: 'MiB',
        runs: rounds,
        reference: { label: 'read and split', value: floorRss, unit: 'MiB' },
        ratio: `${times(rss / floorRss)} the floor (+${fmt(rss - floorRss)} MiB)`,
        target: '< 100 MB',
        met: rss * 1.048576 < 100,
      });
      figures.push({
        label: 'peak RSS of `virtbot --help` (the CLI loaded, nothing done)',
        value: startRss,
        unit: 'MiB',
        runs: rounds,
        reference: { label: 'read and split', value: floorRss, unit: 'MiB' },
        ratio: `${times(startRss / floorRss)} the floor`,
      });
    } else {
      notes.push(
        'Peak memory not measured: /usr/bin/time (GNU time) is not installed (apt-get install time).',
      );
    }
    const lines = summary.split('\n').find((l) => /topics, \d+ items/.test(l));
    if (lines) notes.push(`The replayed meeting: ${lines.trim()}`);
    return { id: 3, title: TITLE, status: 'ran', figures, method, notes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
