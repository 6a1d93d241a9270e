import { type BenchContext, type Section, skipped } from './lib/report.js';

export async function fanout(_ctx: BenchContext): Promise<Section> {
  return skipped(4, 'Fan-out across 16 hosts', 'not written yet');
}
