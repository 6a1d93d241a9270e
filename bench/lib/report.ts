/**
 * What a benchmark returns and how the run prints it and writes BENCHMARKS.md. Every figure is a
 * median of several runs; where it has a reference, the reference was measured in the same run,
 * interleaved with it, and the figure is shown with the ratio between the two.
 */
import type { Machine } from './measure.js';

export interface Figure {
  /** What was measured, e.g. "`vm info` through the pipeline". */
  label: string;
  /** Median value. */
  value: number;
  unit: string;
  /** How many runs the median is of. */
  runs: number;
  /** The side-by-side reference, when there is one. */
  reference?: { label: string; value: number; unit: string };
  /** Ratio against the reference, written for a person: "1.12× the floor", "71× faster". */
  ratio?: string;
  /** The target, as a person reads it: "≥ 50 000/s", "≤ 1.3× floor". */
  target?: string;
  /** Whether the target was met (undefined: no target for this figure). */
  met?: boolean;
}

export interface Section {
  id: number;
  title: string;
  /** 'ran' (every figure measured), 'skipped' (prerequisite missing), 'failed' (it threw). */
  status: 'ran' | 'skipped' | 'failed';
  reason?: string;
  figures: Figure[];
  /** How it was measured; what the reference is. */
  method: string[];
  /** Observations, and for a missed target why and what to do. */
  notes: string[];
  seconds?: number;
}

export interface BenchContext {
  /** Repository root (where bin/virtbot.js lives). */
  root: string;
  /** Fewer and shorter runs (for a quick look; the figures are noisier). */
  quick: boolean;
  log: (line: string) => void;
}

export type Benchmark = (ctx: BenchContext) => Promise<Section>;

export function skipped(id: number, title: string, reason: string, method: string[] = []): Section {
  return { id, title, status: 'skipped', reason, figures: [], method, notes: [] };
}

export function fmt(value: number, unit = ''): string {
  let text: string;
  if (!Number.isFinite(value)) text = String(value);
  else if (Math.abs(value) >= 1000) text = Math.round(value).toLocaleString('en-US').replace(/,/g, ' ');
  else if (Math.abs(value) >= 100) text = value.toFixed(0);
  else if (Math.abs(value) >= 10) text = value.toFixed(1);
  else if (Math.abs(value) >= 1) text = value.toFixed(2);
  else text = value.toPrecision(2);
  return unit ? `${text} ${unit}` : text;
}

export function times(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}×`;
}

function metText(met: boolean | undefined): string {
  return met === undefined ? '' : met ? 'met' : '**missed**';
}

export function consoleSection(s: Section): string {
  const out: string[] = [`[${s.id}] ${s.title}: ${s.status}${s.reason ? ` — ${s.reason}` : ''}`];
  for (const f of s.figures) {
    let line = `    ${f.label}: ${fmt(f.value, f.unit)} (median of ${f.runs})`;
    if (f.reference) line += `; reference ${f.reference.label}: ${fmt(f.reference.value, f.reference.unit)}`;
    if (f.ratio) line += `; ${f.ratio}`;
    if (f.target) line += `; target ${f.target}: ${f.met === undefined ? '-' : f.met ? 'met' : 'MISSED'}`;
    out.push(line);
  }
  for (const n of s.notes) out.push(`    note: ${n}`);
  return out.join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdown(
  sections: readonly Section[],
  machine: Machine,
  meta: { date: string; seconds: number; command: string; quick: boolean },
): string {
  const out: string[] = [];
  out.push('# virtbot benchmarks');
  out.push('');
  out.push(
    `Written by \`${meta.command}\` on ${meta.date} (${Math.round(meta.seconds)} s${meta.quick ? ', --quick: fewer runs, noisier' : ''}). ` +
      'Every figure is the median of several runs; a figure with a reference was measured in the same run, ' +
      'interleaved with its reference, and is shown with the ratio between them: absolute times drift on a shared ' +
      'machine, the ratios hold. Benchmarks are not tests: nothing in `npm test` asserts on a time.',
  );
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push('| | |');
  out.push('|---|---|');
  out.push(`| CPU | ${cell(machine.cpu)} |`);
  out.push(`| Cores | ${machine.cores} |`);
  out.push(`| Memory | ${machine.memory} |`);
  out.push(`| Kernel | ${cell(machine.kernel)} |`);
  out.push(`| Node.js | ${machine.node} |`);
  out.push(`| libvirt | ${cell(machine.libvirt)} |`);
  out.push(`| Durable files on | ${cell(machine.filesystem)} |`);
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push('| # | Figure | Median | Reference (same run) | Ratio | Target | |');
  out.push('|---|---|---|---|---|---|---|');
  for (const s of sections) {
    if (s.status !== 'ran' || s.figures.length === 0) {
      out.push(`| ${s.id} | ${cell(s.title)} | ${s.status} | ${cell(s.reason ?? '')} | | | |`);
      continue;
    }
    for (const f of s.figures) {
      const ref = f.reference
        ? `${cell(f.reference.label)}: ${fmt(f.reference.value, f.reference.unit)}`
        : '';
      out.push(
        `| ${s.id} | ${cell(f.label)} | ${fmt(f.value, f.unit)} | ${ref} | ${cell(f.ratio ?? '')} | ${cell(f.target ?? '')} | ${metText(f.met)} |`,
      );
    }
  }
  for (const s of sections) {
    out.push('');
    out.push(`## ${s.id}. ${s.title}`);
    out.push('');
    if (s.status !== 'ran') out.push(`**${s.status}**: ${s.reason ?? ''}`, '');
    if (s.method.length > 0) {
      out.push('How:');
      out.push('');
      for (const m of s.method) out.push(`- ${m}`);
      out.push('');
    }
    if (s.figures.length > 0) {
      out.push('| Figure | Median | Runs | Reference | Ratio | Target | |');
      out.push('|---|---|---|---|---|---|---|');
      for (const f of s.figures) {
        const ref = f.reference
          ? `${cell(f.reference.label)}: ${fmt(f.reference.value, f.reference.unit)}`
          : '';
        out.push(
          `| ${cell(f.label)} | ${fmt(f.value, f.unit)} | ${f.runs} | ${ref} | ${cell(f.ratio ?? '')} | ${cell(f.target ?? '')} | ${metText(f.met)} |`,
        );
      }
      out.push('');
    }
    if (s.notes.length > 0) {
      out.push('Notes:');
      out.push('');
      for (const n of s.notes) out.push(`- ${n}`);
      out.push('');
    }
    if (s.seconds !== undefined) out.push(`_(${Math.round(s.seconds)} s)_`, '');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
