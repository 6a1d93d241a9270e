import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closest, editDistance, MAX_COMPARED } from '../../src/grammar/suggest.js';

/** The full-table optimal string alignment distance, as suggest.ts computed it before it was bounded. */
function reference(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

describe('did you mean', () => {
  const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), maxLength: 10 });

  it('the bounded distance is the full one, or limit + 1 when that is larger', () => {
    fc.assert(
      fc.property(word, word, fc.integer({ min: 0, max: 6 }), (a, b, limit) => {
        const full = reference(a, b);
        expect(editDistance(a, b)).toBe(full);
        expect(editDistance(a, b, limit)).toBe(full <= limit ? full : limit + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('suggests as before for ordinary words, and never compares a word longer than any name', () => {
    expect(closest('lsit', ['list', 'info', 'stop'])).toBe('list');
    expect(closest('nci', ['nic', 'disk', 'users'])).toBe('nic');
    expect(closest('zzzzzz', ['list', 'info'])).toBeUndefined();
    expect(closest('l'.repeat(MAX_COMPARED + 1), ['l'.repeat(MAX_COMPARED)])).toBeUndefined();
    expect(closest(`vm${'x'.repeat(1_000_000)}`, ['vm', 'meeting', 'help'])).toBeUndefined();
  });
});
