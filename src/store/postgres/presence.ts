/**
 * Which virtbot instances are alive, for whoever takes over the work of one that is gone (its
 * tasks, its open intents). Each instance holds a session-level advisory lock on its name on a
 * dedicated connection: the server releases it when the process dies, however it dies. A row in
 * `instances` names it, with `last_seen` renewed while the lock is held.
 *
 * An instance counts as gone only when its lock is free *and* it has not been seen for a grace
 * period: when PostgreSQL restarts, every lock goes at once, and the live instances must have
 * time to take theirs again before anyone treats them as dead.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { createClient, type DbOptions, LOCKS } from './db.js';

export interface PresenceOptions extends DbOptions {
  /** How often the lock is checked (and taken again after a lost connection) and last_seen renewed. */
  heartbeatMs?: number;
  /** Unseen this long with its lock free: gone (default: five heartbeats). */
  graceMs?: number;
}

export class Presence {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private beating: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PresenceOptions,
  ) {}

  get instance(): string {
    return this.options.instance;
  }

  private get heartbeatMs(): number {
    return this.options.heartbeatMs ?? 2000;
  }

  /** Takes the instance's lock (another live process with the same name is refused) and starts renewing it. */
  async start(): Promise<void> {
    await this.beat(true);
    this.timer = setInterval(() => {
      this.beating ??= this.beat(false)
        .catch(() => undefined)
        .finally(() => {
          this.beating = undefined;
        });
    }, this.heartbeatMs);
    this.timer.unref();
  }

  private async beat(first: boolean): Promise<void> {
    if (this.closed) return;
    if (!this.client) {
      const client = createClient(this.options);
      // A session that ended (the server restarted) no longer holds the lock: the next beat takes it again.
      const lost = () => {
        if (this.client === client) this.client = null;
      };
      client.on('error', lost);
      client.on('end', lost);
      await client.connect();
      const locked = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok',
        [LOCKS.instance, this.options.instance],
      );
      if (!locked.rows[0]?.ok) {
        await client.end().catch(() => undefined);
        // After a restart of the server the old session may linger a moment: try again at the next beat.
        if (first)
          throw new Error(
            `another running virtbot is named ${this.options.instance} (store.postgres.instance)`,
          );
        return;
      }
      this.client = client;
    }
    const client = this.client;
    try {
      await client.query(
        `INSERT INTO instances (id, host, pid) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET last_seen = now(), host = EXCLUDED.host, pid = EXCLUDED.pid`,
        [this.options.instance, hostname(), process.pid],
      );
    } catch (error) {
      // A session that cannot answer may still hold the lock on the server: end it, and start again.
      if (this.client === client) this.client = null;
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** The instances that are gone: lock free and unseen for the grace period. */
  async dead(): Promise<string[]> {
    const grace = this.options.graceMs ?? this.heartbeatMs * 5;
    const r = await this.pool.query<{ id: string }>(
      `SELECT i.id FROM instances i
        WHERE i.id <> $1 AND i.last_seen < now() - make_interval(secs => $2::double precision / 1000)
          AND NOT EXISTS (
            SELECT 1 FROM pg_locks l
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $3::oid AND l.objsubid = 2
               AND l.objid = (hashtext(i.id)::bigint & 4294967295)::oid)`,
      [this.options.instance, grace, LOCKS.instance],
    );
    return r.rows.map((row) => row.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.beating;
    const client = this.client;
    this.client = null;
    // Ending the session frees the lock; the row stays (its last_seen tells when it left).
    await client?.end().catch(() => undefined);
  }
}
