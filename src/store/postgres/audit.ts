/**
 * The audit store in PostgreSQL (see src/audit/store.ts for the contract, src/audit/log.ts for
 * the files it replaces). Every record is sealed exactly as a line of the JSONL file would be
 * (src/audit/chain.ts: seq, prev, hash over the line), and the line is kept as written, so
 * `verify` checks the same chain and `export` writes the same file.
 *
 * Writing: concurrent records are group-committed. A batch is sealed on the head this process
 * last saw and handed to `virtbot_audit_append` in one statement (one round trip, one commit):
 * when another instance moved the head meanwhile, nothing is written and the batch is sealed
 * again on the head it returns. A promise resolves only once its record is committed; a failed
 * commit rejects with AuditUnavailable, and `begin` failing means the command does not run.
 *
 * Reading: `query` is indexed on time, VM, host, user (nick for the unidentified) and outcome,
 * newest first, one entry per operation (an intent's latest outcome stands for it), and pages
 * through the visibility predicate `accept` until `limit` records passed it.
 *
 * Retention is by month: the records are partitioned by their time, and partitions older than
 * `retentionMonths` are dropped whole (no rotation, no rewriting); the chain then starts at the
 * last dropped record, which `audit_retention` remembers.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { GENESIS, parseLine, seal } from '../../audit/chain.js';
import { type AuditLogger, boundRecord } from '../../audit/log.js';
import { intentRecord, outcomeRecord } from '../../audit/records.js';
import {
  type AuditHealth,
  type AuditStore,
  AuditUnavailable,
  type AuditWarning,
  type Intent,
  type IntentChecker,
  type OutcomeInput,
  type Problem,
  type RecoveryReport,
  type SingleRecord,
  type VerifyReport,
} from '../../audit/store.js';
import type { AuditFilter, AuditRecord, Outcome } from '../../core/types.js';
import { StoreUnavailable } from '../unavailable.js';
import { describeDbError, isConnectionError } from './db.js';

/** `history`'s filter, and the outcome (for tools and admins: the index is there). */
export type PgAuditFilter = AuditFilter & { outcome?: Outcome };

export interface PgAuditOptions {
  pool: pg.Pool;
  /** This instance's name: intents remember who runs them. */
  instance: string;
  /** Instances that are gone: recovery finishes their open intents. Default: every other one. */
  dead?: () => Promise<string[]>;
  /** Where to say where the records are (no password). */
  where: string;
  retentionMonths?: number;
  logger?: AuditLogger;
  now?: () => Date;
  /** While unavailable, look again this often (ms; 0: only on the next write). Default 2000. */
  probeMs?: number;
}

interface Pending {
  record: AuditRecord;
  done: (error?: Error) => void;
}

interface Head {
  seq: number;
  hash: string;
}

interface Row {
  seq: string;
  time: Date;
  line: string;
}

/** Records sealed on the wrong head are sealed again; past this many tries the batch fails. */
const MAX_RESEALS = 50;
const MAX_PROBLEMS = 100;

export class PostgresAudit implements AuditStore {
  private head: Head | undefined;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private readonly open_ = new Map<string, AuditRecord>();
  private unavailable: string | undefined;
  private probe: NodeJS.Timeout | undefined;
  private readonly events = new EventEmitter();
  private readonly now: () => Date;
  private counter = 0;
  private closed = false;
  private retentionDone = '';

  constructor(private readonly options: PgAuditOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get where(): string {
    return this.options.where;
  }

  // ------------------------------------------------------------------ writing

  async open(): Promise<void> {
    try {
      await this.readHead();
      await this.applyRetention();
      this.markAvailable();
    } catch (error) {
      const failure = this.unavailableError(error);
      this.markUnavailable(failure);
      throw failure;
    }
  }

  async begin(intent: Intent): Promise<string> {
    const time = intent.time ?? this.now();
    const record = intentRecord(intent, this.newId(time, 'i'), time);
    await this.enqueue(record);
    this.open_.set(record.id, record);
    return record.id;
  }

  async finish(intentId: string, outcome: OutcomeInput): Promise<void> {
    const intent = this.open_.get(intentId) ?? (await this.findIntent(intentId));
    if (!intent) throw new Error(`the audit log has no intent ${intentId}`);
    const time = outcome.time ?? this.now();
    await this.enqueue(outcomeRecord(intent, outcome, this.newId(time, 'o'), time));
    if (outcome.outcome !== 'in-progress') this.open_.delete(intentId);
  }

  async record(single: SingleRecord): Promise<string> {
    const time = new Date(single.time);
    const record: AuditRecord = {
      ...single,
      id: single.id ?? this.newId(Number.isNaN(time.getTime()) ? this.now() : time, 's'),
      kind: 'single',
    };
    await this.enqueue(record);
    return record.id;
  }

  onWarning(listener: (warning: AuditWarning) => void): () => void {
    this.events.on('warning', listener);
    return () => this.events.off('warning', listener);
  }

  async health(): Promise<AuditHealth> {
    try {
      await this.options.pool.query('SELECT 1');
      this.markAvailable();
    } catch (error) {
      this.markUnavailable(this.unavailableError(error));
    }
    const health: AuditHealth = { available: this.unavailable === undefined, file: this.options.where };
    if (this.unavailable) health.reason = this.unavailable;
    return health;
  }

  private newId(time: Date, kind: string): string {
    return `${time.getTime().toString(36)}-${kind}${(this.counter++).toString(36)}-${randomBytes(3).toString('hex')}`;
  }

  private enqueue(record: AuditRecord): Promise<void> {
    const bounded = boundRecord(record);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record: bounded, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.write(batch);
          this.markAvailable();
          for (const p of batch) p.done();
        } catch (error) {
          const failure = this.unavailableError(error);
          this.markUnavailable(failure);
          // The head may have moved in a commit whose answer was lost: read it again next time.
          this.head = undefined;
          for (const p of batch) p.done(failure);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Seals the batch on the head and appends it; seals again on the head another instance moved. */
  private async write(batch: Pending[]): Promise<void> {
    const head = this.head ?? (await this.readHead());
    let seq = head.seq;
    let hash = head.hash;
    for (let attempt = 0; attempt < MAX_RESEALS; attempt++) {
      const rows = [];
      let at = { seq, hash };
      for (const { record } of batch) {
        const sealed = seal(record, at.seq + 1, at.hash);
        at = { seq: at.seq + 1, hash: sealed.hash };
        rows.push({
          seq: at.seq,
          time: record.time,
          id: record.id,
          kind: record.kind ?? 'single',
          op: record.kind === 'outcome' && record.intent !== undefined ? record.intent : record.id,
          user_name: record.user,
          nick: record.nick,
          host: record.host ?? null,
          vm: record.vm ?? null,
          outcome: record.outcome,
          path: record.path ?? null,
          private: record.private === true,
          instance: this.options.instance,
          line: sealed.line,
          hash: sealed.hash,
        });
      }
      const result = await this.options.pool.query<{ ok: boolean; head_seq: string; head_hash: string }>(
        'SELECT ok, head_seq, head_hash FROM virtbot_audit_append($1, $2, $3::jsonb)',
        [seq, hash, JSON.stringify(rows)],
      );
      const answer = result.rows[0]!;
      seq = Number(answer.head_seq);
      hash = answer.head_hash;
      this.head = { seq, hash };
      if (answer.ok) return;
    }
    throw new Error(`the audit head kept moving: ${MAX_RESEALS} tries to append failed`);
  }

  private async readHead(): Promise<Head> {
    const result = await this.options.pool.query<{ seq: string; hash: string }>(
      'SELECT seq, hash FROM audit_head WHERE id = 1',
    );
    const row = result.rows[0];
    if (!row) throw new Error('the audit head is missing: the database was not migrated');
    this.head = { seq: Number(row.seq), hash: row.hash };
    return this.head;
  }

  private unavailableError(error: unknown): AuditUnavailable {
    if (error instanceof AuditUnavailable) return error;
    const code = (error as { code?: string }).code ?? (isConnectionError(error) ? 'unreachable' : 'refused');
    return new AuditUnavailable(`the audit store cannot record it: ${describeDbError(error)}`, code, {
      cause: error,
    });
  }

  private markUnavailable(failure: AuditUnavailable): void {
    const changed = this.unavailable === undefined;
    this.unavailable = failure.message;
    if (changed)
      this.warn({
        code: 'unavailable',
        file: this.options.where,
        message: `audit log unavailable: ${failure.message}; commands that change anything are refused`,
      });
    this.startProbe();
  }

  private markAvailable(): void {
    if (this.unavailable === undefined) return;
    const was = this.unavailable;
    this.unavailable = undefined;
    this.stopProbe();
    this.warn({
      code: 'available',
      file: this.options.where,
      message: `audit log available again (was: ${was})`,
    });
  }

  private startProbe(): void {
    const every = this.options.probeMs ?? 2000;
    if (this.probe || every <= 0 || this.closed) return;
    this.probe = setInterval(() => {
      this.options.pool.query('SELECT 1').then(
        () => this.markAvailable(),
        () => undefined,
      );
    }, every);
    this.probe.unref();
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }

  private warn(warning: AuditWarning): void {
    const level = warning.code === 'available' ? 'info' : 'error';
    this.options.logger?.[level]({ audit: warning }, warning.message);
    this.events.emit('warning', warning);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopProbe();
    while (this.flushing) await this.flushing;
  }

  // ------------------------------------------------------------------ retention

  /** Drops the months older than `retentionMonths` (once a day at most), remembering where the chain now starts. */
  async applyRetention(): Promise<string[]> {
    const months = this.options.retentionMonths ?? 0;
    const today = this.now().toISOString().slice(0, 10);
    if (months <= 0 || this.retentionDone === today) return [];
    const first = new Date(this.now());
    first.setUTCDate(1);
    first.setUTCHours(0, 0, 0, 0);
    first.setUTCMonth(first.getUTCMonth() - months);
    const dropped: string[] = [];
    const client = await this.options.pool.connect();
    try {
      await client.query('BEGIN');
      // Appends wait meanwhile: the anchor must be the last record of what goes.
      await client.query('SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE');
      const parts = await client.query<{ name: string; upper: string }>(
        `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS upper
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'audit_records'::regclass`,
      );
      const old = parts.rows.filter((p) => {
        const match = /TO \('([^']+)'\)/.exec(p.upper);
        return match !== null && new Date(match[1]!) <= first;
      });
      if (old.length > 0) {
        const last = await client.query<{ seq: string; hash: string }>(
          `SELECT seq, hash FROM audit_records WHERE time < $1 ORDER BY seq DESC LIMIT 1`,
          [first],
        );
        if (last.rows[0]) {
          await client.query(
            `INSERT INTO audit_retention (id, seq, hash, dropped_before) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET seq = GREATEST(audit_retention.seq, EXCLUDED.seq),
               hash = CASE WHEN EXCLUDED.seq > audit_retention.seq THEN EXCLUDED.hash ELSE audit_retention.hash END,
               dropped_before = EXCLUDED.dropped_before`,
            [last.rows[0].seq, last.rows[0].hash, first],
          );
        }
        for (const part of old) {
          await client.query(`DROP TABLE ${quoteIdent(part.name)}`);
          dropped.push(part.name);
        }
        await client.query(
          `DELETE FROM audit_open WHERE time < $1`, // intents of dropped months cannot be finished any more
          [first],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    this.retentionDone = today;
    if (dropped.length > 0)
      this.options.logger?.info({ dropped }, `audit retention: dropped ${dropped.join(', ')}`);
    return dropped;
  }

  // ------------------------------------------------------------------ recovery

  /**
   * Every intent without a final outcome whose instance is gone gets an `unknown` outcome, with
   * what `check` finds on its host. The intents are first taken over (their instance set to this
   * one) in one statement, so that two instances recovering at once never both finish one.
   */
  async recover(check?: IntentChecker): Promise<RecoveryReport> {
    const dead = this.options.dead ? await this.options.dead() : undefined;
    const taken = await this.options.pool.query<{ line: string }>(
      dead === undefined
        ? `UPDATE audit_open SET instance = $1 WHERE instance IS DISTINCT FROM $1 RETURNING line`
        : `UPDATE audit_open SET instance = $1 WHERE instance IS NULL OR instance = ANY($2) RETURNING line`,
      dead === undefined ? [this.options.instance] : [this.options.instance, dead],
    );
    const unresolved = taken.rows
      .map((row) => recordOf(row.line))
      .filter((r): r is AuditRecord => r !== undefined)
      .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0))
      .map(stripChain);
    const report: RecoveryReport = { unresolved, recorded: 0 };
    for (const intent of unresolved) {
      const what = `${intent.user ?? `${intent.nick} (unidentified)`}: ${intent.command}`;
      this.options.logger?.warn(
        { intent: intent.id, command: intent.command, host: intent.host, vm: intent.vm },
        `intent without an outcome (its virtbot stopped while it ran): ${what}`,
      );
      this.events.emit('warning', {
        code: 'unknown-outcome',
        file: this.options.where,
        message: `outcome unknown: ${what} (intent ${intent.id}, ${intent.time}) was started and its virtbot stopped before it ended`,
      } satisfies AuditWarning);
      let found: string | undefined;
      if (check) {
        try {
          found = await check(intent);
        } catch (error) {
          found = `the check failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`;
        }
      }
      try {
        this.open_.set(intent.id, intent);
        await this.finish(intent.id, {
          outcome: 'unknown',
          detail: `virtbot stopped before the outcome was recorded; ${
            found !== undefined ? `the host shows: ${found}` : 'nobody checked the host'
          }`,
        });
        report.recorded++;
      } catch (error) {
        this.open_.delete(intent.id);
        this.options.logger?.error({ err: error, intent: intent.id }, 'could not record the unknown outcome');
      }
    }
    return report;
  }

  private async findIntent(id: string): Promise<AuditRecord | undefined> {
    const open = await this.options.pool.query<{ line: string }>(
      'SELECT line FROM audit_open WHERE intent = $1',
      [id],
    );
    const row =
      open.rows[0] ??
      (
        await this.options.pool.query<{ line: string }>(
          `SELECT line FROM audit_records WHERE id = $1 AND kind = 'intent' LIMIT 1`,
          [id],
        )
      ).rows[0];
    const record = row ? recordOf(row.line) : undefined;
    return record ? stripChain(record) : undefined;
  }

  // ------------------------------------------------------------------ reading

  /**
   * Newest first (by time, then position in the chain), one entry per operation: a record is
   * shown only when no later record of its operation exists. Pages through the index until
   * `limit` records passed `accept`.
   */
  async query(filter: PgAuditFilter): Promise<AuditRecord[]> {
    try {
      return await this.queryPages(filter);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      throw new StoreUnavailable('the history cannot be read', describeDbError(error), { cause: error });
    }
  }

  private async queryPages(filter: PgAuditFilter): Promise<AuditRecord[]> {
    while (this.flushing) await this.flushing;
    const limit = filter.limit ?? 20;
    const matches: AuditRecord[] = [];
    let page = Math.min(Math.max(limit * 2, 32), 1000);
    let cursor: { time: Date; seq: string } | undefined;
    for (;;) {
      const rows = await this.page(filter, page, cursor);
      for (const row of rows) {
        const record = recordOf(row.line);
        if (!record) continue;
        if (record.kind === 'intent') record.detail = 'no outcome recorded yet';
        const shown = stripChain(record);
        if (filter.accept && !(await filter.accept(shown))) continue;
        matches.push(shown);
        if (matches.length >= limit) return matches;
      }
      if (rows.length < page) return matches;
      const last = rows.at(-1)!;
      cursor = { time: last.time, seq: last.seq };
      page = Math.min(page * 2, 5000);
    }
  }

  private async page(
    filter: PgAuditFilter,
    size: number,
    cursor: { time: Date; seq: string } | undefined,
  ): Promise<Row[]> {
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const common: string[] = [];
    if (filter.vm !== undefined) common.push(`r.vm = ${param(filter.vm)}`);
    if (filter.host !== undefined) common.push(`r.host = ${param(filter.host)}`);
    if (filter.outcome !== undefined) common.push(`r.outcome = ${param(filter.outcome)}`);
    if (filter.since !== undefined) common.push(`r.time >= ${param(filter.since)}`);
    if (cursor) common.push(`(r.time, r.seq) < (${param(cursor.time)}, ${param(cursor.seq)}::bigint)`);
    // The latest record of its operation only (a later outcome stands for an intent).
    common.push(
      `NOT EXISTS (SELECT 1 FROM audit_records later WHERE later.op = r.op AND later.seq > r.seq AND later.time >= r.time - interval '1 day')`,
    );
    // A user is their identity; a nick matches only the records of unidentified senders.
    const branches =
      filter.user === undefined
        ? [[]]
        : [[`r.user_name = ${param(filter.user)}`], [`r.user_name IS NULL`, `r.nick = $${params.length}`]];
    const limit = param(size);
    const selects = branches.map(
      (extra) =>
        `(SELECT r.seq, r.time, r.line FROM audit_records r WHERE ${[...extra, ...common].join(' AND ')}
          ORDER BY r.time DESC, r.seq DESC LIMIT ${limit})`,
    );
    const sql =
      selects.length === 1
        ? selects[0]!
        : `SELECT * FROM (${selects.join(' UNION ALL ')}) x ORDER BY x.time DESC, x.seq DESC LIMIT ${limit}`;
    return (await this.options.pool.query<Row>(sql, params)).rows;
  }

  /**
   * Walks the chain in order: each record against its own hash and its link to the one before,
   * and its indexed columns against the record itself. The chain must end at the head.
   */
  async verify(): Promise<VerifyReport> {
    while (this.flushing) await this.flushing;
    const pool = this.options.pool;
    const problems: Problem[] = [];
    const report = (p: Problem) => {
      if (problems.length < MAX_PROBLEMS) problems.push(p);
    };
    const anchor = (
      await pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_retention WHERE id = 1')
    ).rows[0];
    const head = (
      await pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1')
    ).rows[0];
    const partitions = Number(
      (
        await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'audit_records'::regclass`,
        )
      ).rows[0]?.n ?? 0,
    );
    let prev = { seq: anchor ? Number(anchor.seq) : 0, hash: anchor?.hash ?? GENESIS, where: 'the start' };
    let records = 0;
    // From the first record kept: those below the anchor that retention left (a skewed clock) too.
    for await (const row of this.chainRows<ChainRow>(
      'tableoid::regclass::text AS part, id, kind, op, user_name, nick, host, vm, outcome, hash',
    )) {
      const seq = Number(row.seq);
      records++;
      const file = `postgresql:${row.part}`;
      const parsed = parseLine(row.line);
      if (parsed.kind !== 'chained') {
        report({ file, line: seq, id: row.id, problem: `not a sealed record (${parsed.kind})` });
        continue;
      }
      const { record } = parsed;
      if (!parsed.intact)
        report({ file, line: seq, id: row.id, problem: 'edited: the record does not match its own hash' });
      if (anchor && seq <= Number(anchor.seq)) {
        prev = { seq, hash: record.hash, where: `${file}:${seq}` };
        continue;
      }
      const differs = parsed.intact ? columnsDiffer(row, record) : [];
      if (differs.length > 0)
        report({
          file,
          line: seq,
          id: row.id,
          problem: `edited: its indexed columns (${differs.join(', ')}) differ from the sealed record`,
        });
      if (record.seq !== seq || record.prev !== prev.hash || seq !== prev.seq + 1) {
        const expected = prev.seq + 1;
        report({
          file,
          line: seq,
          id: row.id,
          problem:
            seq > expected
              ? `records removed: seq ${expected}${seq - 1 > expected ? `–${seq - 1}` : ''} missing after ${prev.where}`
              : `link broken: prev does not match the record before it (${prev.where}): it was edited or replaced`,
        });
      }
      prev = { seq, hash: record.hash, where: `${file}:${seq}` };
    }
    if (head && Number(head.seq) > prev.seq) {
      report({
        file: 'postgresql:audit_records',
        line: prev.seq,
        problem: `records missing at the end: the log ends at seq ${prev.seq}, but seq ${head.seq} was written`,
      });
    }
    const first = problems[0];
    return {
      ok: problems.length === 0,
      files: partitions,
      records,
      unchained: 0,
      ...(first ? { first } : {}),
      problems,
    };
  }

  /** Every record, in chain order, as the lines of the JSONL file (`virtbot audit export`). */
  async *lines(): AsyncGenerator<string> {
    for await (const row of this.chainRows<{ seq: string; line: string }>()) yield row.line;
  }

  /** Every record in chain order, a page at a time: `seq`, `line` and the other columns asked for. */
  private async *chainRows<T extends { seq: string; line: string }>(columns = ''): AsyncGenerator<T> {
    let after = -1;
    for (;;) {
      const rows = await this.options.pool.query<T>(
        `SELECT seq, line${columns ? `, ${columns}` : ''} FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT 10000`,
        [after],
      );
      if (rows.rows.length === 0) return;
      for (const row of rows.rows) {
        after = Number(row.seq);
        yield row;
      }
    }
  }
}

interface ChainRow {
  seq: string;
  line: string;
  part: string;
  id: string;
  kind: string;
  op: string;
  user_name: string | null;
  nick: string;
  host: string | null;
  vm: string | null;
  outcome: string;
  hash: string;
}

function recordOf(line: string): (AuditRecord & { seq?: number }) | undefined {
  const parsed = parseLine(line, false);
  return parsed.kind === 'chained' || parsed.kind === 'legacy' ? parsed.record : undefined;
}

function stripChain(record: AuditRecord): AuditRecord {
  const { seq: _seq, prev: _prev, hash: _hash, ...rest } = record;
  return rest;
}

function columnsDiffer(row: ChainRow, record: AuditRecord & { hash: string }): string[] {
  const op = record.kind === 'outcome' && record.intent !== undefined ? record.intent : record.id;
  const pairs: [string, unknown, unknown][] = [
    ['id', row.id, record.id],
    ['kind', row.kind, record.kind ?? 'single'],
    ['op', row.op, op],
    ['user_name', row.user_name, record.user],
    ['nick', row.nick, record.nick],
    ['host', row.host, record.host ?? null],
    ['vm', row.vm, record.vm ?? null],
    ['outcome', row.outcome, record.outcome],
    ['hash', row.hash, record.hash],
  ];
  return pairs.filter(([, a, b]) => a !== b).map(([name]) => name);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
