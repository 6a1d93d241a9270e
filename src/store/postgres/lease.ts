/**
 * The leader lease on one chat connection ('irc:libera', 'discord:team'): of all the virtbot
 * instances sharing a database, exactly one holds it and speaks on that connection.
 *
 * Why a row with a time to live rather than an advisory lock on a dedicated session: an advisory
 * lock lives exactly as long as its session, and a session's death is noticed by the server only
 * when TCP gives up on it (minutes, under a partition), while the instance on the far side of the
 * partition cannot tell whether the server still counts its session either. A row with an
 * expiry on the server's clock makes both sides agree on a deadline that no connection needs to
 * carry: the server hands the lease on once `expires_at` passes, and the holder, counting from
 * before it sent its last successful renewal, gives the connection up a safety margin earlier.
 * So two instances never speak at once, even when the holder is cut off from the database
 * rather than dead. The `epoch` (one more at every acquisition) fences what a holder writes in
 * the lease's name: an inbound claim is made only under the current epoch (claim.ts).
 *
 * Timing, with `checkMs` the renewal period and `ttlMs` (4 × checkMs by default) the lease's
 * life: the holder renews every checkMs (counted from the start of the previous renewal) and
 * stops itself at (start of its last good renewal + ttlMs − marginMs), so two renewals in a row
 * may fail or be slow (a busy start-up, a hiccup of the server) before it gives the connection
 * up; a follower tries every checkMs, so a dead holder is replaced within ttlMs + checkMs (a
 * stopped one at its next try: it expires its row).
 */
import type pg from 'pg';
import { describeDbError } from './db.js';

export interface LeaseOptions {
  pool: pg.Pool;
  /** The connection: 'irc:NAME' / 'discord:NAME'. */
  name: string;
  /** This instance's name. */
  holder: string;
  /** How often to renew (holding) or try (not holding). */
  checkMs: number;
  /** How long a renewal keeps the lease on the server's clock (default 4 × checkMs). */
  ttlMs?: number;
  /** How long before the server's deadline the holder gives up (default checkMs: time to QUIT). */
  marginMs?: number;
  /** Taken: connect. Run in order with onLost (a loss waits for the takeover to finish), never delaying a renewal. */
  onAcquired(epoch: number): Promise<void> | void;
  /** Lost (could not renew in time, or another instance holds it now): disconnect at once. */
  onLost(reason: string): Promise<void> | void;
  /** A check that failed (the store is down): logged by the caller. */
  onError?(message: string): void;
  /** Local clock in ms (tests). */
  now?: () => number;
}

interface Held {
  epoch: number;
  /** Local time after which this instance must not speak for the connection. */
  validUntil: number;
}

export class ConnectionLease {
  private held: Held | undefined;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private stopped = true;
  /** The check in progress (stop() waits for it, so no acquisition lands after stop). */
  private running: Promise<void> = Promise.resolve();
  /** onAcquired / onLost, one after the other in the order they happened. */
  private transitions: Promise<void> = Promise.resolve();
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LeaseOptions) {
    this.ttlMs = options.ttlMs ?? options.checkMs * 4;
    this.marginMs = options.marginMs ?? options.checkMs;
    if (this.marginMs >= this.ttlMs)
      throw new Error('the lease margin must be shorter than its time to live');
    this.now = options.now ?? Date.now;
  }

  get name(): string {
    return this.options.name;
  }

  /** True while this instance may speak on the connection (held, and not past its local deadline). */
  get holding(): boolean {
    return this.held !== undefined && this.now() < this.held.validUntil;
  }

  /** The epoch held, or undefined. */
  get epoch(): number | undefined {
    return this.holding ? this.held?.epoch : undefined;
  }

  /** Starts checking: tries at once, then every checkMs. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops checking and gives the lease up (it expires now, so a follower takes it at its next try). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    const held = this.held;
    if (!held) return;
    await this.lose('this instance is stopping');
    await this.release(held.epoch);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const startedAt = this.now();
      // The next check is checkMs after this one started, however long this one took.
      this.running = this.check().finally(() =>
        this.schedule(Math.max(0, this.options.checkMs - (this.now() - startedAt))),
      );
    }, ms);
  }

  private async check(): Promise<void> {
    const sentAt = this.now();
    try {
      if (this.held) await this.renew(sentAt, this.held);
      else await this.acquire(sentAt);
    } catch (error) {
      // Fail closed: a holder that cannot renew keeps its deadline timer, which stops it in time.
      this.options.onError?.(`lease ${this.options.name}: ${describeDbError(error)}`);
    }
  }

  private async acquire(sentAt: number): Promise<void> {
    // Takes a free, expired or own row; the epoch grows with every acquisition.
    const result = await this.options.pool.query<{ epoch: string }>(
      `INSERT INTO leases (name, holder, epoch, since, renewed_at, expires_at)
       VALUES ($1, $2, 1, now(), now(), now() + make_interval(secs => $3))
       ON CONFLICT (name) DO UPDATE
         SET holder = EXCLUDED.holder, epoch = leases.epoch + 1, since = now(), renewed_at = now(),
             expires_at = EXCLUDED.expires_at
         WHERE leases.expires_at < now() OR leases.holder = EXCLUDED.holder
       RETURNING epoch`,
      [this.options.name, this.options.holder, this.ttlMs / 1000],
    );
    const row = result.rows[0];
    if (!row || this.stopped) {
      if (row) await this.release(Number(row.epoch));
      return;
    }
    const epoch = Number(row.epoch);
    this.hold(epoch, sentAt);
    this.transition(async () => {
      try {
        await this.options.onAcquired(epoch);
      } catch (error) {
        // A takeover that failed (the meetings could not be read) is given up, not kept silent:
        // another instance, or this one at its next check, tries again.
        this.options.onError?.(
          `lease ${this.options.name}: taking the connection over failed: ${String(error)}`,
        );
        if (this.held?.epoch !== epoch) return;
        this.held = undefined;
        clearTimeout(this.deadline);
        await this.options.onLost('taking the connection over failed');
        await this.release(epoch);
      }
    }, 'taking the connection over failed');
  }

  private async renew(sentAt: number, held: Held): Promise<void> {
    const result = await this.options.pool.query(
      // clock_timestamp(), not now(): a renewal that waited (a lock, a slow server) past the
      // expiry must not bring a lease back that a follower may be taking.
      `UPDATE leases SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + make_interval(secs => $4)
       WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()`,
      [this.options.name, this.options.holder, held.epoch, this.ttlMs / 1000],
    );
    if (this.held !== held) return; // lost meanwhile (deadline): the next check starts over
    if (result.rowCount === 1) this.hold(held.epoch, sentAt);
    else await this.lose('another instance holds the connection now');
  }

  private hold(epoch: number, sentAt: number): void {
    const validUntil = sentAt + this.ttlMs - this.marginMs;
    this.held = { epoch, validUntil };
    clearTimeout(this.deadline);
    // Counted from before the renewal was sent: the server's expiry is at least this late.
    this.deadline = setTimeout(
      () => void this.lose('the lease could not be renewed in time'),
      Math.max(0, validUntil - this.now()),
    );
  }

  /** Stops speaking at once (`holding` is false from here); the transport goes after any takeover in progress. */
  private async lose(reason: string): Promise<void> {
    if (!this.held) return;
    this.held = undefined;
    clearTimeout(this.deadline);
    this.transition(() => this.options.onLost(reason), 'giving the connection up failed');
    await this.transitions;
  }

  private transition(fn: () => Promise<void> | void, what: string): void {
    this.transitions = this.transitions
      .then(fn)
      .catch((error: unknown) =>
        this.options.onError?.(`lease ${this.options.name}: ${what}: ${String(error)}`),
      );
  }

  /** Expires the lease now (the row stays: the epoch keeps growing across holders). */
  private async release(epoch: number): Promise<void> {
    await this.options.pool
      .query('UPDATE leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND epoch = $3', [
        this.options.name,
        this.options.holder,
        epoch,
      ])
      .catch(() => undefined); // it expires on its own
  }
}
