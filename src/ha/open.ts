/**
 * Opens what several instances share besides the stores: a small pool of its own for leases and
 * claims (so that a burst of audit writes never delays a lease renewal past its deadline), the
 * schema (migrations, idempotent across instances), and this instance's name.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { readSecret } from '../config/read-secret.js';
import type { PostgresStoreConfig } from '../config/sections/store.js';
import { createPool } from '../store/postgres/db.js';
import { migrate } from '../store/postgres/migrate.js';
import type { Transport, TransportLogger } from '../transports/transport.js';
import { SharedConnections } from './shared-connections.js';

/** What the bot does with a connection's meetings when this instance takes it over or gives it up. */
export interface Meetings {
  resumeMeetings(prefix: string): Promise<unknown>;
  releaseMeetings(prefix: string): unknown;
}

/** HOSTNAME:PID:random, unless the config names the instance. */
export function instanceName(config: PostgresStoreConfig): string {
  return config.instance ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`.slice(0, 64);
}

export async function openSharedConnections(
  config: PostgresStoreConfig,
  meetings: Meetings,
  logger: TransportLogger,
  ready?: (transport: Transport) => Promise<void>,
): Promise<SharedConnections> {
  const url = await readSecret(config.url, 'store.postgres url');
  const instance = instanceName(config);
  const pool = createPool({
    url,
    instance,
    max: 3,
    connectTimeoutMs: config.connectTimeoutMs,
    statementTimeoutMs: 10_000,
  });
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return new SharedConnections({
    pool,
    instance,
    checkMs: config.leaseCheckMs,
    logger,
    resumeMeetings: (prefix) => meetings.resumeMeetings(prefix),
    releaseMeetings: (prefix) => meetings.releaseMeetings(prefix),
    ...(ready ? { ready } : {}),
  });
}
