import { type BenchContext, type Section, skipped } from './lib/report.js';

export async function footprint(_ctx: BenchContext): Promise<Section> {
  return skipped(5, 'Footprint of `virtbot run`', 'not written yet');
}
