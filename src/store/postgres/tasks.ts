/**
 * Tasks in PostgreSQL (the contract is src/tasks/task-store.ts): one row per task, with the
 * instance running it as `owner`, so that every virtbot lists the tasks of all (`watch` polls
 * for what changed) and a running task whose instance is gone (presence.ts) is handed over to
 * one other instance, which checks its host and reports it as outcome unknown.
 */
import type pg from 'pg';
import type { TaskRecord } from '../../tasks/runner.js';
import type { TaskStore } from '../../tasks/task-store.js';

export interface PgTaskOptions {
  pool: pg.Pool;
  instance: string;
  /** The instances that are gone (presence.ts). */
  dead: () => Promise<string[]>;
  /** How often `watch` looks for tasks changed elsewhere (ms). */
  pollMs?: number;
}

/** Finished tasks kept in the table (the runner lists the latest 20). */
const KEEP_FINISHED = 200;
/** `watch` reads again what changed this long before its last look: a slow commit is not missed. */
const OVERLAP_MS = 5000;

export class PostgresTaskStore implements TaskStore {
  /** Tasks this instance started or took over: the ones it writes. */
  private readonly owned = new Set<number>();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: PgTaskOptions) {}

  async load(): Promise<TaskRecord[]> {
    const r = await this.options.pool.query<{ body: TaskRecord }>('SELECT body FROM tasks ORDER BY id');
    return r.rows.map((row) => row.body);
  }

  async nextId(): Promise<number> {
    const r = await this.options.pool.query<{ id: string }>(`SELECT nextval('task_ids') AS id`);
    const id = Number(r.rows[0]!.id);
    this.owned.add(id);
    return id;
  }

  save(tasks: readonly TaskRecord[], changed?: TaskRecord): Promise<void> {
    const rows = (changed ? [changed] : tasks).filter((t) => this.owned.has(t.id));
    // One at a time and in order, so that a task's later state is never overwritten by an earlier one.
    const run = this.saving.then(() => this.write(rows.map((t) => structuredClone(t))));
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async write(rows: TaskRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.options.pool.query(
      `INSERT INTO tasks (id, owner, state, body, updated_at)
       SELECT x.id, $1, x.state, x.body, now()
         FROM jsonb_to_recordset($2::jsonb) AS x(id integer, state text, body jsonb)
       ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, state = EXCLUDED.state, body = EXCLUDED.body,
         updated_at = now()`,
      [this.options.instance, JSON.stringify(rows.map((t) => ({ id: t.id, state: t.state, body: t })))],
    );
    if (rows.some((t) => t.state !== 'running')) {
      await this.options.pool.query(
        `DELETE FROM tasks WHERE state <> 'running' AND id NOT IN (
           SELECT id FROM tasks WHERE state <> 'running' ORDER BY id DESC LIMIT $1)`,
        [KEEP_FINISHED],
      );
    }
  }

  /**
   * Running tasks of instances that are gone, and this instance's own from before it restarted
   * (those in `running`, which it does not run), taken over in one statement: of two instances
   * looking at once, the second finds them owned by the first, which is alive.
   */
  async orphans(running: readonly TaskRecord[]): Promise<TaskRecord[]> {
    const dead = await this.options.dead();
    const r = await this.options.pool.query<{ body: TaskRecord }>(
      `UPDATE tasks SET owner = $1, updated_at = now()
        WHERE state = 'running'
          AND (owner IS NULL OR owner = ANY($2::text[]) OR (owner = $1 AND id = ANY($3::integer[])))
        RETURNING body`,
      [this.options.instance, dead, running.map((t) => t.id)],
    );
    const taken = r.rows.map((row) => row.body).sort((a, b) => a.id - b.id);
    for (const task of taken) this.owned.add(task.id);
    return taken;
  }

  watch(listener: (task: TaskRecord) => void): () => void {
    let since: Date | null = null;
    let busy = false;
    // The overlap reads recent changes again: each is told once (a task is told again only
    // when it changed).
    const told = new Map<number, string>();
    const look = async () => {
      if (busy || this.closed) return;
      busy = true;
      try {
        const r = await this.options.pool.query<{ at: Date; bodies: TaskRecord[] }>(
          `SELECT now() AS at, coalesce(json_agg(body ORDER BY id), '[]') AS bodies
             FROM tasks WHERE $1::timestamptz IS NULL OR updated_at > $1`,
          [since ? new Date(since.getTime() - OVERLAP_MS) : null],
        );
        const row = r.rows[0]!;
        for (const task of row.bodies) {
          if (this.owned.has(task.id)) continue;
          const body = JSON.stringify(task);
          if (told.get(task.id) === body) continue;
          told.set(task.id, body);
          listener(task);
        }
        since = row.at;
      } catch {
        // The store is down: the list stays as it was, and the next look catches up.
      } finally {
        busy = false;
      }
    };
    void look();
    const timer = setInterval(() => void look(), this.options.pollMs ?? 1000);
    timer.unref();
    this.timers.add(timer);
    return () => {
      clearInterval(timer);
      this.timers.delete(timer);
    };
  }

  /** Stops watching (the pool is ended by its owner). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
  }

  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
}
