/**
 * Migrations: `migrations/NNN_name.sql`, applied in order at start-up, each in its own
 * transaction with its row in `schema_migrations`. A transaction-scoped advisory lock makes
 * instances that start together take turns: the second finds the work done. A database ahead of
 * this virtbot (a migration it does not know) is refused, since its code would not match.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { LOCKS } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations folder: beside this module in the sources, or the sources' from dist/. */
export function migrationsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [
    join(here, 'migrations'),
    // dist/src/store/postgres → src/store/postgres/migrations (tsc does not copy .sql files)
    join(here, '..', '..', '..', '..', 'src', 'store', 'postgres', 'migrations'),
  ];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`the PostgreSQL migrations are missing (looked in ${candidates.join(', ')})`);
  return found;
}

export async function readMigrations(dir = migrationsDir()): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{3}_[a-z0-9_]+\.sql$/.test(n)).sort();
  const out: Migration[] = [];
  for (const name of names) {
    const version = Number(name.slice(0, 3));
    if (out.some((m) => m.version === version)) throw new Error(`two migrations numbered ${version}`);
    out.push({ version, name: name.slice(4, -4), sql: await readFile(join(dir, name), 'utf8') });
  }
  return out;
}

/** Applies what is missing; resolves with the versions applied now (empty: up to date). */
export async function migrate(pool: pg.Pool, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await readMigrations());
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    // Under the lock too: two sessions creating the same table at once would collide.
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCKS.migrate]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    await client.query('COMMIT');
    for (const migration of all) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCKS.migrate]);
        const done = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
        const versions = new Set(done.rows.map((r) => r.version));
        const newest = Math.max(0, ...versions);
        const known = Math.max(...all.map((m) => m.version));
        if (newest > known)
          throw new Error(
            `the database has schema version ${newest}, newer than this virtbot knows (${known}): upgrade virtbot`,
          );
        if (versions.has(migration.version)) {
          await client.query('COMMIT');
          continue;
        }
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
        applied.push(migration.version);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(
          `migration ${String(migration.version).padStart(3, '0')}_${migration.name} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  } finally {
    client.release();
  }
  return applied;
}
