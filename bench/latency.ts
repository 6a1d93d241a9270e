import { type BenchContext, type Section, skipped } from './lib/report.js';

export async function latency(_ctx: BenchContext): Promise<Section> {
  return skipped(1, 'Warm operation latency over SSH', 'not written yet');
}
