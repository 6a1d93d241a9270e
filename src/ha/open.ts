/**
 * Opens what several instances share for their chat connections: a small pool of its own for
 * leases and claims (so that a burst of audit writes never delays a lease renewal past its
 * deadline), on the database, under the instance name, that the stores opened (src/store/open.ts
 * has already migrated the schema).
 */
import type { SharedStore } from '../store/open.js';
import { createPool } from '../store/postgres/db.js';
import type { Transport, TransportLogger } from '../transports/transport.js';
import { SharedConnections } from './shared-connections.js';

/** What the bot does with a connection's meetings when this instance takes it over or gives it up. */
export interface Meetings {
  resumeMeetings(prefix: string): Promise<unknown>;
  releaseMeetings(prefix: string): unknown;
}

export function openSharedConnections(
  store: SharedStore,
  meetings: Meetings,
  logger: TransportLogger,
  ready?: (transport: Transport) => Promise<void>,
): SharedConnections {
  const pool = createPool({
    url: store.url,
    instance: store.instance,
    max: 3,
    connectTimeoutMs: store.config.connectTimeoutMs,
    statementTimeoutMs: 10_000,
  });
  return new SharedConnections({
    pool,
    instance: store.instance,
    checkMs: store.config.leaseCheckMs,
    logger,
    resumeMeetings: (prefix) => meetings.resumeMeetings(prefix),
    releaseMeetings: (prefix) => meetings.releaseMeetings(prefix),
    ...(ready ? { ready } : {}),
  });
}
