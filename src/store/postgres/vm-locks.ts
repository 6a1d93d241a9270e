/**
 * Per-VM locks across virtbot instances: a session-level PostgreSQL advisory lock on a stable
 * 64-bit hash of (host, VM), held on a connection of its own pool (store.postgres.lockConnections)
 * for as long as the change runs, so that two instances never edit one domain's XML at once. The
 * in-process lock (Hypervisor.withDomainLock) stays, outside this one: changes queued in one
 * process wait in memory and do not each hold a connection. libvirt's verify-and-retry stays
 * underneath, for edits made outside virtbot.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { describeDbError } from './db.js';

/** A stable key for (host, VM): the first 8 bytes of a SHA-256, as a signed bigint (text, for pg). */
export function vmLockKey(host: string, vm: string): string {
  const digest = createHash('sha256').update(`virtbot vm lock\0${host}\0${vm}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** The lock could not be taken (the store is down): the change does not run. */
export class VmLockUnavailable extends Error {}

export class VmLocks {
  constructor(private readonly pool: pg.Pool) {}

  async with<T>(host: string, vm: string, fn: () => Promise<T>): Promise<T> {
    const key = vmLockKey(host, vm);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new VmLockUnavailable(
        `cannot lock ${vm} on ${host} across instances: ${describeDbError(error)}`,
        {
          cause: error,
        },
      );
    }
    let broken: Error | undefined;
    // A checked-out session has no error listener of the pool's: without this one, the server
    // going away while a change holds the lock would be an unhandled 'error' event (a crash).
    // The lock goes with the session; the change already under way is left to finish.
    const lost = (error: Error) => {
      broken ??= error;
    };
    client.on('error', lost);
    try {
      try {
        await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
      } catch (error) {
        broken = error as Error;
        throw new VmLockUnavailable(
          `cannot lock ${vm} on ${host} across instances: ${describeDbError(error)}`,
          {
            cause: error,
          },
        );
      }
      return await fn();
    } finally {
      if (!broken) {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch((error: Error) => {
          broken = error;
        });
      }
      client.off('error', lost);
      // A session whose unlock failed is closed, not reused: closing it frees the lock.
      client.release(broken);
    }
  }
}
