/**
 * Connections to PostgreSQL (node-postgres): the pools virtbot's stores share, and what a
 * failure means in one line. Every session runs with `synchronous_commit = on` (a record counts
 * once it is committed and flushed, whatever the server's default), a statement timeout, and an
 * application name that says which instance it is.
 */
import pg from 'pg';

export interface DbOptions {
  url: string;
  instance: string;
  max: number;
  connectTimeoutMs: number;
  /** Longest a statement may run (ms); the VM-lock pool waits longer (0: no limit). */
  statementTimeoutMs?: number;
}

export function createPool(options: DbOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: `virtbot ${options.instance}`.slice(0, 63),
    options: `-c synchronous_commit=on -c statement_timeout=${options.statementTimeoutMs ?? 30_000}`,
  });
  // An idle connection the server closed (a restart): the pool drops it; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** A dedicated session (leases, LISTEN), outside the pools. */
export function createClient(options: DbOptions): pg.Client {
  return new pg.Client({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs,
    keepAlive: true,
    application_name: `virtbot ${options.instance}`.slice(0, 63),
    options: '-c synchronous_commit=on -c statement_timeout=10000',
  });
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  // admin_shutdown, crash_shutdown, cannot_connect_now
  '57P01',
  '57P02',
  '57P03',
]);

/** The server cannot be reached or is going away (as opposed to refusing one statement). */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  const message = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Client was closed|not queryable/i.test(
    message,
  );
}

/** One line for a person: what went wrong with the store. */
export function describeDbError(error: unknown): string {
  const e = error as { code?: string; message?: string; address?: string; port?: number } | undefined;
  const message = (e?.message ?? String(error)).split('\n')[0]!;
  if (isConnectionError(error)) return `the PostgreSQL store is unreachable (${message})`;
  return `PostgreSQL refused it (${e?.code ? `${e.code}: ` : ''}${message})`;
}

/** Runs `fn` in a transaction on one connection of the pool. */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: unknown;
  // Checked out, the session has no listener of the pool's: a server going away mid-transaction must not be an unhandled 'error' event.
  const lost = (error: Error) => {
    broken ??= error;
  };
  client.on('error', lost);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = isConnectionError(error) ? error : undefined;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', lost);
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/** Advisory-lock namespaces (the first key of the two-key form), one per use. */
export const LOCKS = {
  lease: 7758401,
  instance: 7758402,
  vm: 7758403,
  migrate: 7758404,
} as const;
