/**
 * The hash chain of the audit log. Each record line carries `seq` (its position, across
 * rotations), `prev` (the previous record's hash) and, last, `hash`: the SHA-256 of its own line
 * with the `hash` field left out. So an edited record no longer matches its own hash, and a removed
 * or reordered one breaks the next record's `prev` and `seq`. The hash is computed over the bytes
 * that were written, so no canonical JSON is needed: the line is the record.
 *
 * Records written before the chain existed have no `hash`; a record after such a line links to
 * the SHA-256 of that whole line.
 */
import { createHash } from 'node:crypto';
import type { AuditRecord } from '../core/types.js';
import { forwardLines } from './lines.js';
import type { Problem, VerifyReport } from './store.js';

export const GENESIS = '0'.repeat(64);
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The line (without its newline) for a record at `seq` after `prev`, and its hash. */
export function seal(record: AuditRecord, seq: number, prev: string): { line: string; hash: string } {
  const { hash: _hash, seq: _seq, prev: _prev, ...rest } = record;
  const body = JSON.stringify({ ...rest, seq, prev });
  const hash = sha256(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, hash };
}

export type ParsedLine =
  | { kind: 'blank' }
  | { kind: 'corrupt'; reason: string }
  | { kind: 'legacy'; record: AuditRecord; hash: string }
  | { kind: 'chained'; record: AuditRecord & { seq: number; prev: string; hash: string }; intact: boolean };

/** Reads one line of an audit file; `check` false skips the hashing (for queries, which only read). */
export function parseLine(text: string, check = true): ParsedLine {
  if (text.trim() === '') return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'corrupt', reason: `not JSON (${(error as Error).message.slice(0, 80)})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { kind: 'corrupt', reason: 'not a record' };
  const record = value as AuditRecord;
  if (typeof record.id !== 'string' || typeof record.time !== 'string' || typeof record.outcome !== 'string')
    return { kind: 'corrupt', reason: 'not a record (no id, time or outcome)' };
  if (record.hash === undefined && record.seq === undefined && record.prev === undefined)
    return { kind: 'legacy', record, hash: check ? sha256(text) : '' };
  const suffix = HASH_SUFFIX.exec(text);
  if (typeof record.seq !== 'number' || typeof record.prev !== 'string' || !suffix)
    return { kind: 'corrupt', reason: 'chain fields (seq, prev, hash) missing or malformed' };
  const intact = !check || sha256(`${text.slice(0, suffix.index)}}`) === suffix[1];
  return {
    kind: 'chained',
    record: record as AuditRecord & { seq: number; prev: string; hash: string },
    intact,
  };
}

/** The hash the next record links to, for a line that parsed as a record. */
export function linkOf(parsed: ParsedLine): { hash: string; seq: number | undefined } | undefined {
  if (parsed.kind === 'legacy') return { hash: parsed.hash, seq: undefined };
  if (parsed.kind === 'chained') return { hash: parsed.record.hash, seq: parsed.record.seq };
  return undefined;
}

const MAX_PROBLEMS = 100;

/**
 * Walks every file, oldest first, and checks each record against its own hash and its link to
 * the one before. After a break the walk resynchronises on the breaking record, so that each
 * problem is reported once. `expectedHead`, when known (the store's head file), is where the
 * chain must end: a shorter chain lost records at its end.
 */
export async function verifyFiles(
  files: readonly string[],
  expectedHead?: { seq: number; hash: string },
): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const report = (p: Problem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  let records = 0;
  let unchained = 0;
  let prev: { hash: string; seq: number | undefined; file: string; line: number } | undefined;
  let chainStarted = false;
  for (const file of files) {
    let lastLine: { number: number; complete: boolean } | undefined;
    for await (const line of forwardLines(file)) {
      lastLine = line;
      const parsed = parseLine(line.text);
      if (parsed.kind === 'blank') continue;
      if (parsed.kind === 'corrupt') {
        report({
          file,
          line: line.number,
          problem: line.complete ? `corrupt line: ${parsed.reason}` : 'torn last line (an unfinished write)',
        });
        continue;
      }
      records++;
      const id = parsed.record.id;
      if (parsed.kind === 'legacy') {
        if (chainStarted)
          report({ file, line: line.number, id, problem: 'a record without chain fields inside the chain' });
        else unchained++;
        prev = { hash: parsed.hash, seq: undefined, file, line: line.number };
        continue;
      }
      const { record } = parsed;
      if (!parsed.intact)
        report({ file, line: line.number, id, problem: 'edited: the record does not match its own hash' });
      if (!chainStarted) {
        chainStarted = true;
        const expected = prev?.hash ?? GENESIS;
        if (record.prev !== expected)
          report({ file, line: line.number, id, problem: describeBreak(record, prev) });
      } else if (prev && (record.prev !== prev.hash || record.seq !== (prev.seq ?? 0) + 1)) {
        report({ file, line: line.number, id, problem: describeBreak(record, prev) });
      }
      prev = { hash: record.hash, seq: record.seq, file, line: line.number };
    }
    if (lastLine && !lastLine.complete && problems.at(-1)?.line !== lastLine.number) {
      report({ file, line: lastLine.number, problem: 'torn last line (an unfinished write)' });
    }
  }
  if (expectedHead && (prev?.seq ?? 0) < expectedHead.seq) {
    report({
      file: prev?.file ?? files.at(-1) ?? '',
      line: prev?.line ?? 0,
      problem: `records missing at the end: the log ends at seq ${prev?.seq ?? 0}, but seq ${expectedHead.seq} was written`,
    });
  }
  const first = problems[0];
  return {
    ok: problems.length === 0,
    files: files.length,
    records,
    unchained,
    ...(first ? { first } : {}),
    problems,
  };
}

function describeBreak(
  record: { seq: number; prev: string },
  prev: { hash: string; seq: number | undefined; file: string; line: number } | undefined,
): string {
  if (!prev) return `the first record links to a record that is not in the log (seq ${record.seq})`;
  const where = `${prev.file}:${prev.line}`;
  const expected = (prev.seq ?? 0) + 1;
  if (prev.seq !== undefined && record.seq > expected)
    return `records removed: seq ${expected}${record.seq - 1 > expected ? `–${record.seq - 1}` : ''} missing after ${where}`;
  if (prev.seq !== undefined && record.seq < expected)
    return `out of order: seq ${record.seq} after seq ${prev.seq} (${where})`;
  return `link broken: prev does not match the record before it (${where}): it was edited or replaced`;
}
