/**
 * `virtbot test --update`: writes rewritten expectation lines back into a transcript, keeping
 * every other byte (and the file's line ends) as it was, and shows what changed as a diff.
 */

export interface LineChange {
  line: number;
  before: string;
  after: string;
}

export function applyUpdates(
  text: string,
  updates: readonly { line: number; text: string }[],
): { text: string; changes: LineChange[] } {
  const lines = text.split('\n');
  const changes: LineChange[] = [];
  for (const { line, text: after } of updates) {
    const raw = lines[line - 1];
    if (raw === undefined) continue;
    const cr = raw.endsWith('\r') ? '\r' : '';
    const before = raw.slice(0, raw.length - cr.length);
    // Keep the line's indentation: the parser allows it.
    const indent = /^\s*/.exec(before)![0];
    const next = `${indent}${after}`;
    if (next === before) continue;
    lines[line - 1] = `${next}${cr}`;
    changes.push({ line, before, after: next });
  }
  return { text: lines.join('\n'), changes };
}

/** A diff of the changes, one hunk per line: `@@ file:12 @@`, `- old`, `+ new`. */
export function formatChanges(file: string, changes: readonly LineChange[]): string {
  return changes.map((c) => `@@ ${file}:${c.line} @@\n- ${c.before}\n+ ${c.after}\n`).join('');
}
