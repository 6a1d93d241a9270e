/**
 * A private PostgreSQL for tests and benchmarks: `initdb` into a fresh directory and `pg_ctl start`
 * on 127.0.0.1 and a free port, as an unprivileged user (PostgreSQL refuses to run as root: as
 * root the cluster belongs to the `postgres` user of Debian's package, or `VIRTBOT_PG_USER`).
 * Nothing of the system's cluster is touched. `stop()`/`start()` keep the data (the "store is
 * down" tests); `dispose()` removes it. Needs `scripts/setup-postgres.sh`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPool } from '../../src/store/postgres/db.js';
import { migrate } from '../../src/store/postgres/migrate.js';
import { freePort } from './util.js';

const run = promisify(execFile);

/** Where Debian's (or another) PostgreSQL keeps initdb and pg_ctl: VIRTBOT_PG_BIN, else the newest version installed. */
export function postgresBin(): string | undefined {
  const given = process.env['VIRTBOT_PG_BIN'];
  if (given) return existsSync(join(given, 'pg_ctl')) ? given : undefined;
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root).filter((v) => /^\d+$/.test(v));
  } catch {
    return undefined;
  }
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'pg_ctl')) && existsSync(join(bin, 'initdb'))) return bin;
  }
  return undefined;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresSkipReason(): string | undefined {
  if (!postgresBin()) return 'PostgreSQL binaries not found (run scripts/setup-postgres.sh as root)';
  if (process.getuid?.() === 0 && !unprivilegedUser())
    return 'running as root and there is no unprivileged user to run PostgreSQL as (postgres, or VIRTBOT_PG_USER)';
  return undefined;
}

function unprivilegedUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = process.env['VIRTBOT_PG_USER'] ?? 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return uid > 0 ? { name, uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

export interface PostgresOptions {
  /** The database role and database virtbot connects to. */
  user?: string;
  database?: string;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string>;
}

export class PrivatePostgres {
  port = 0;
  dir = '';
  private readonly bin: string;
  private readonly owner = unprivilegedUser();
  private running = false;

  constructor(private readonly options: PostgresOptions = {}) {
    const bin = postgresBin();
    if (!bin) throw new Error('PostgreSQL binaries not found (run scripts/setup-postgres.sh)');
    this.bin = bin;
  }

  get user(): string {
    return this.options.user ?? 'virtbot';
  }

  get database(): string {
    return this.options.database ?? 'virtbot';
  }

  /** The connection URL virtbot is given. */
  get url(): string {
    return `postgres://${this.user}@127.0.0.1:${this.port}/${this.database}`;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  async start(): Promise<void> {
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), 'virtbot-pg-'));
      if (this.owner) await chown(this.dir, this.owner.uid, this.owner.gid);
      await chmod(this.dir, 0o700);
      this.port = await freePort();
      await this.as('initdb', [
        '-D',
        this.dataDir,
        '-U',
        this.user,
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--locale',
        'C',
        '--no-sync',
      ]);
      const settings = {
        listen_addresses: "'127.0.0.1'",
        port: String(this.port),
        unix_socket_directories: `'${this.dir}'`,
        fsync: 'on',
        max_connections: '200',
        shared_buffers: "'128MB'",
        ...this.options.settings,
      };
      await writeFile(
        join(this.dir, 'extra.conf'),
        `${Object.entries(settings)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n')}\n`,
      );
      if (this.owner) await chown(join(this.dir, 'extra.conf'), this.owner.uid, this.owner.gid);
      await run('sh', [
        '-c',
        `echo "include '${join(this.dir, 'extra.conf')}'" >> '${join(this.dataDir, 'postgresql.conf')}'`,
      ]);
    }
    await this.as('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
    this.running = true;
    if (!this.created) {
      await this.as('createdb', ['-h', '127.0.0.1', '-p', String(this.port), '-U', this.user, this.database]);
      this.created = true;
    }
  }

  private created = false;

  /** Stops the server (fast shutdown: sessions are cut, as when PostgreSQL goes down). Data stays. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running) return;
    await this.as('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /** A fresh, empty database on this server; resolves with its URL. */
  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad database name ${name}`);
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return `postgres://${this.user}@127.0.0.1:${this.port}/${name}`;
  }

  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** Runs a PostgreSQL program as the cluster's owner. */
  private async as(program: string, args: string[]): Promise<string> {
    const path = join(this.bin, program);
    const options = {
      env: { ...process.env, LC_ALL: 'C', PGHOST: '127.0.0.1' },
      ...(this.owner ? { uid: this.owner.uid, gid: this.owner.gid, cwd: this.dir || tmpdir() } : {}),
      maxBuffer: 16 * 1024 * 1024,
    };
    try {
      const { stdout } = await run(path, args, options);
      return stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(
        `${program} failed: ${(e.stderr ?? e.message).trim()} (as ${this.owner?.name ?? userInfo().username})`,
      );
    }
  }
}

/**
 * One private server for a suite (started before its tests, removed after), fresh databases on
 * it with the migrations applied, and pools that are ended with it.
 */
export function privatePostgresSuite(
  hooks: {
    beforeAll: (fn: () => Promise<void>, timeout?: number) => void;
    afterAll: (fn: () => Promise<void>) => void;
  },
  prefix: string,
) {
  const pools: pg.Pool[] = [];
  let n = 0;
  const suite = {
    server: undefined as unknown as PrivatePostgres,
    /** A pool on `url`, ended with the suite. */
    pool(url: string, instance = `i${pools.length}`, max = 4): pg.Pool {
      const pool = createPool({ url, instance, max, connectTimeoutMs: 1000 });
      pools.push(pool);
      return pool;
    },
    /** A fresh database, migrated; resolves with its URL. */
    async database(): Promise<string> {
      const url = await suite.server.createDatabase(`${prefix}${n++}`);
      await migrate(suite.pool(url));
      return url;
    },
  };
  hooks.beforeAll(async () => {
    suite.server = new PrivatePostgres();
    await suite.server.start();
  }, 60_000);
  hooks.afterAll(async () => {
    await Promise.allSettled(pools.map((p) => p.end()));
    await suite.server?.dispose();
  });
  return suite;
}

/** The config's store section for a database of the private server (instance named, short connect timeout). */
export function pgStoreSection(url: string, instance: string) {
  return { postgres: { url: { value: url, insecure: true as const }, instance, connectTimeoutMs: 1000 } };
}
