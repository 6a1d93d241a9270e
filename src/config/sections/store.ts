/**
 * The `store:` section: where virtbot keeps what must outlive a process and be shared between
 * processes. Without it (the embedded default) everything stays in files under `bot.dataDir`
 * and one process serves every chat connection. With `store.postgres`, the audit log, meeting
 * journals, pending confirmations, tasks, event subscriptions, the leases on chat connections,
 * inbound-message claims and per-VM locks live in one PostgreSQL database, so that several
 * `virtbot run` processes on one config share them: one holds each connection, another takes
 * over when it dies (src/store/postgres/).
 */
import { z } from 'zod';
import { SecretSchema } from './secret.js';

export const PostgresStoreSchema = z
  .object({
    /** `postgres://user:password@host:port/database` — a secret, since it may hold a password. */
    url: SecretSchema,
    /** This process's name in leases and records (default: HOSTNAME:PID and a random suffix). */
    instance: z
      .string()
      .regex(/^[A-Za-z0-9_.:@-]{1,64}$/, 'letters, digits and _ . : @ - (up to 64)')
      .optional(),
    /** Connections for records, meetings, confirmations and tasks. */
    poolSize: z.number().int().min(2).max(200).default(10),
    /** Connections for per-VM locks: each change being made holds one until it ends. */
    lockConnections: z.number().int().min(1).max(200).default(16),
    /** Audit partitions (one per month) older than this many months are dropped (0: keep all). */
    retentionMonths: z.number().int().min(0).max(1200).default(0),
    /** How often the leases are checked and renewed (ms); a lease lives four times this, so a dead holder is replaced within about five times this (src/store/postgres/lease.ts). */
    leaseCheckMs: z.number().int().min(100).max(60_000).default(1000),
    /** Connecting to PostgreSQL gives up after this long (ms): a command is refused rather than kept waiting. */
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(3000),
  })
  .strict();

export const StoreSchema = z
  .object({
    postgres: PostgresStoreSchema.optional(),
  })
  .strict();

export type StoreConfig = z.infer<typeof StoreSchema>;
export type PostgresStoreConfig = z.infer<typeof PostgresStoreSchema>;

export const StoreSection = {
  store: StoreSchema.default({}),
};
