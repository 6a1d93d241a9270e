/**
 * Opens the stores virtbot keeps what must outlive a turn in, from the config's `store:` section:
 * the embedded default (files under `bot.dataDir`, one process, nothing to set up), or one
 * PostgreSQL database shared by several instances (migrations applied here, at start-up).
 * Everything that builds a Bot gets its stores from here, so the two modes differ only in this file.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { AuditLog, type AuditLogger } from '../audit/log.js';
import type { AuditStore } from '../audit/store.js';
import { type ConfirmationStore, MemoryConfirmationStore } from '../auth/confirmation-store.js';
import { readSecret } from '../config/read-secret.js';
import type { Config } from '../config/schema.js';
import type { PostgresStoreConfig } from '../config/sections/store.js';
import { FileJournalStore, type JournalStore } from '../meeting/journal-store.js';
import { JsonTaskStore, type TaskStore } from '../tasks/task-store.js';
import { PostgresAudit } from './postgres/audit.js';
import { PostgresConfirmationStore } from './postgres/confirmations.js';
import { createPool } from './postgres/db.js';
import { PostgresJournalStore } from './postgres/journal.js';
import { migrate } from './postgres/migrate.js';
import { Presence } from './postgres/presence.js';
import { PostgresTaskStore } from './postgres/tasks.js';
import { VmLocks } from './postgres/vm-locks.js';

/** What several instances share (store.postgres): the connections, this instance's name, and who is alive. */
export interface SharedStore {
  pool: pg.Pool;
  instance: string;
  /** The URL (for opening more connections of one's own, e.g. leases). */
  url: string;
  config: PostgresStoreConfig;
  presence: Presence;
  /** Per-VM advisory locks across instances. */
  vmLocks: VmLocks;
  /** Where the records are, without a password. */
  where: string;
}

export interface Stores {
  kind: 'files' | 'postgres';
  audit: AuditStore;
  confirmations: ConfirmationStore;
  journals: JournalStore;
  tasks: TaskStore;
  /** Set with store.postgres only. */
  shared?: SharedStore;
  close(): Promise<void>;
}

export interface StoreOptions {
  logger?: AuditLogger;
  now?: () => Date;
}

/** The embedded default: files under bot.dataDir (exactly what a Bot built without stores uses). */
export function fileStores(config: Config, options: StoreOptions = {}): Stores & { audit: AuditLog } {
  const dataDir = config.bot.dataDir;
  const audit = new AuditLog({
    file: config.audit.file ?? join(dataDir, 'audit.jsonl'),
    rotateBytes: config.audit.rotateBytes,
    rotateDaily: config.audit.rotateDaily,
    minFreeBytes: config.audit.minFreeBytes,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    kind: 'files',
    audit,
    confirmations: new MemoryConfirmationStore(),
    journals: new FileJournalStore(dataDir),
    tasks: new JsonTaskStore(join(dataDir, 'tasks.json')),
    close: () => audit.close(),
  };
}

/** HOSTNAME:PID:random, unless the config names the instance. */
export function instanceName(config: PostgresStoreConfig): string {
  return config.instance ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`.slice(0, 64);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparsable URL)';
  }
}

export async function openStores(config: Config, options: StoreOptions = {}): Promise<Stores> {
  const pgConfig = config.store.postgres;
  if (!pgConfig) return fileStores(config, options);
  return openPostgresStores(pgConfig, options);
}

/** Connects, migrates and opens every store on PostgreSQL; fails (closing what it opened) when it cannot. */
export async function openPostgresStores(
  pgConfig: PostgresStoreConfig,
  options: StoreOptions = {},
): Promise<Stores> {
  const url = await readSecret(pgConfig.url, 'store.postgres url');
  const instance = instanceName(pgConfig);
  const db = { url, instance, connectTimeoutMs: pgConfig.connectTimeoutMs };
  const pool = createPool({ ...db, max: pgConfig.poolSize });
  // Lock sessions wait as long as the change they guard takes: no statement timeout.
  const lockPool = createPool({ ...db, max: pgConfig.lockConnections, statementTimeoutMs: 0 });
  const presence = new Presence(pool, { ...db, max: 1 });
  const where = redactUrl(url);
  const tasks = new PostgresTaskStore({ pool, instance, dead: () => presence.dead() });
  // The first recovery runs at start-up, before this instance records anything: intents under its
  // own name are then a previous run's (a configured name is reused across restarts).
  let starting = true;
  const audit = new PostgresAudit({
    pool,
    instance,
    dead: async () => {
      const dead = await presence.dead();
      if (starting) dead.push(instance);
      starting = false;
      return dead;
    },
    where,
    retentionMonths: pgConfig.retentionMonths,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const close = async () => {
    tasks.close();
    await audit.close().catch(() => undefined);
    await presence.close();
    await Promise.allSettled([pool.end(), lockPool.end()]);
  };
  try {
    await migrate(pool);
    await presence.start();
  } catch (error) {
    await close();
    throw new Error(`the PostgreSQL store (${where}) cannot be opened: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const shared: SharedStore = {
    pool,
    instance,
    url,
    config: pgConfig,
    presence,
    vmLocks: new VmLocks(lockPool),
    where,
  };
  return {
    kind: 'postgres',
    audit,
    confirmations: new PostgresConfirmationStore(pool),
    journals: new PostgresJournalStore({
      pool,
      ...(options.logger ? { warn: (error, what) => options.logger!.warn({ err: error }, what) } : {}),
    }),
    tasks,
    shared,
    close,
  };
}
