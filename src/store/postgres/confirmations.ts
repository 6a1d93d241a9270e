/**
 * Pending confirmations in PostgreSQL (the contract is src/auth/confirmation-store.ts), so that
 * a code issued through one virtbot can be confirmed, approved or cancelled through another.
 * Every change is one statement conditional on the version that was judged: a take is
 * `DELETE … WHERE version = $v RETURNING`, an update or a lapse `UPDATE … WHERE version = $v`,
 * so of two instances racing on one code exactly one wins; the loser looks again.
 */
import type pg from 'pg';
import type { ConfirmationStore, StoredEntry, StoredInvocation } from '../../auth/confirmation-store.js';
import { StoreUnavailable } from '../unavailable.js';
import { describeDbError, isConnectionError } from './db.js';

/** How many lapsed codes are remembered (the memory store keeps as many). */
const REMEMBER_LAPSED = 1000;

interface Row {
  state: 'pending' | 'lapsed';
  version: number;
  body: StoredInvocation;
}

export class PostgresConfirmationStore implements ConfirmationStore {
  constructor(private readonly db: pg.Pool) {}

  /** The pool, with a connection failure said as the store being down (nothing was changed). */
  private readonly pool = {
    query: async <R extends pg.QueryResultRow>(
      sql: string,
      params: unknown[],
    ): Promise<pg.QueryResult<R>> => {
      try {
        return await this.db.query<R>(sql, params);
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        throw new StoreUnavailable(
          'confirmation codes cannot be kept or read, so nothing was done',
          describeDbError(error),
          {
            cause: error,
          },
        );
      }
    },
  };

  async add(invocation: StoredInvocation): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO confirmations (code, state, requester, place_key, expires_at, body)
       VALUES ($1, 'pending', $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING`,
      [invocation.code, invocation.requester, invocation.placeKey, invocation.expiresAt, invocation],
    );
    return r.rowCount === 1;
  }

  async get(code: string): Promise<StoredEntry | undefined> {
    const r = await this.pool.query<Row>('SELECT state, version, body FROM confirmations WHERE code = $1', [
      code,
    ]);
    const row = r.rows[0];
    return row ? { state: row.state, version: row.version, invocation: row.body } : undefined;
  }

  async take(code: string, version: number): Promise<StoredInvocation | undefined> {
    const r = await this.pool.query<{ body: StoredInvocation }>(
      `DELETE FROM confirmations WHERE code = $1 AND state = 'pending' AND version = $2 RETURNING body`,
      [code, version],
    );
    return r.rows[0]?.body;
  }

  async update(code: string, version: number, invocation: StoredInvocation): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE confirmations SET body = $3, expires_at = $4, version = version + 1, updated_at = now()
        WHERE code = $1 AND state = 'pending' AND version = $2`,
      [code, version, invocation, invocation.expiresAt],
    );
    return r.rowCount === 1;
  }

  async lapse(code: string, version: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE confirmations SET state = 'lapsed', version = version + 1, updated_at = now()
        WHERE code = $1 AND state = 'pending' AND version = $2`,
      [code, version],
    );
    if (r.rowCount === 1) await this.forgetOldLapsed();
    return r.rowCount === 1;
  }

  async sweep(now: number): Promise<StoredInvocation[]> {
    // Under READ COMMITTED a row another sweep changed first is re-checked and skipped: each lapse to one caller.
    const r = await this.pool.query<{ body: StoredInvocation }>(
      `UPDATE confirmations SET state = 'lapsed', version = version + 1, updated_at = now()
        WHERE state = 'pending' AND expires_at < $1 RETURNING body`,
      [now],
    );
    if (r.rows.length > 0) await this.forgetOldLapsed();
    return r.rows.map((row) => row.body).sort((a, b) => a.expiresAt - b.expiresAt);
  }

  private async forgetOldLapsed(): Promise<void> {
    await this.pool.query(
      `DELETE FROM confirmations WHERE state = 'lapsed' AND code NOT IN (
         SELECT code FROM confirmations WHERE state = 'lapsed' ORDER BY updated_at DESC, code LIMIT $1)`,
      [REMEMBER_LAPSED],
    );
  }
}
