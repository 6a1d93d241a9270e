/**
 * Several real `virtbot run` processes (bin/virtbot.js, built) on one config each, sharing one
 * private PostgreSQL and one ngircd: for the failover tests and the failover benchmark. Each
 * instance has its own data directory (its log), all share the minutes directory; the lease
 * rows say which one holds the IRC connection.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { stopProcess } from './util.js';

export const CONNECTION = 'irc:testnet';

export interface ClusterOptions {
  /** The repository root (where bin/virtbot.js is). */
  root: string;
  dir: string;
  pgUrl: string;
  ircPort: number;
  channel: string;
  nick: string;
  leaseCheckMs: number;
}

export interface Instance {
  name: string;
  child: ChildProcess;
  /** Everything it printed (pino's JSON lines). */
  output: string[];
}

export class HaCluster {
  readonly instances: Instance[] = [];
  private readonly db: pg.Pool;

  constructor(private readonly options: ClusterOptions) {
    this.db = new pg.Pool({ connectionString: options.pgUrl, max: 2 });
  }

  get minutesDir(): string {
    return join(this.options.dir, 'minutes');
  }

  /** The config of one instance (JSON is YAML). */
  config(name: string): object {
    const o = this.options;
    return {
      bot: { nick: o.nick, prefix: '!', dataDir: join(o.dir, name), minutesDir: this.minutesDir },
      hosts: [{ name: 'test', uri: 'test:///default' }],
      irc: [
        {
          name: 'testnet',
          host: '127.0.0.1',
          port: o.ircPort,
          tls: false,
          channels: [o.channel],
          flood: { burst: 100, rate: 100 },
          // A private test server: no pacing to keep under, replies go out as they come.
          channelPace: { lines: 100, seconds: 1 },
        },
      ],
      roles: { viewer: { permissions: ['vm.list', 'vm.info', 'help', 'meeting.*'] } },
      // ngircd has no services accounts: everybody is an anonymous viewer.
      anonymous: { roles: ['viewer'], deliberate: true },
      store: {
        postgres: {
          url: { value: o.pgUrl, insecure: true },
          instance: name,
          leaseCheckMs: o.leaseCheckMs,
          connectTimeoutMs: 2000,
        },
      },
    };
  }

  async spawn(name: string): Promise<Instance> {
    await mkdir(join(this.options.dir, name), { recursive: true });
    const file = join(this.options.dir, `${name}.yaml`);
    await writeFile(file, JSON.stringify(this.config(name), null, 2));
    const child = spawn(process.execPath, ['bin/virtbot.js', 'run', '--config', file, '--allow-root'], {
      cwd: this.options.root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VIRTBOT_LOG_LEVEL: 'info' },
    });
    const instance: Instance = { name, child, output: [] };
    const collect = (chunk: Buffer) =>
      instance.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', () => {});
    this.instances.push(instance);
    return instance;
  }

  /** Waits until the instance has started (logged `virtbot ready`): from then on it is a follower at least. */
  async ready(instance: Instance, ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    while (this.logged(instance, 'virtbot ready') === 0) {
      if (instance.child.exitCode !== null)
        throw new Error(`${instance.name} exited: ${instance.output.slice(-5).join('\n')}`);
      if (Date.now() > until) throw new Error(`${instance.name} not ready within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The instance holding the IRC connection now (by its unexpired lease row), if any. */
  async holder(): Promise<Instance | undefined> {
    const result = await this.db
      .query<{ holder: string }>('SELECT holder FROM leases WHERE name = $1 AND expires_at > now()', [
        CONNECTION,
      ])
      .catch((error: { code?: string }) => {
        // 42P01, 42703: the first instance is still migrating (no table, or not its columns yet).
        if (error.code === '42P01' || error.code === '42703') return { rows: [] as { holder: string }[] };
        throw error;
      });
    const name = result.rows[0]?.holder;
    return this.instances.find(
      (i) => i.name === name && i.child.exitCode === null && i.child.signalCode === null,
    );
  }

  /** Waits until some live instance holds the connection. */
  async waitForHolder(ms: number, not?: Instance): Promise<Instance> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const h = await this.holder();
      if (h && h !== not) return h;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no instance took ${CONNECTION} within ${ms} ms`);
  }

  /** SIGKILL: no QUIT, no lease given up; resolves once the process is gone. */
  async kill(instance: Instance): Promise<void> {
    if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => instance.child.once('exit', () => resolve()));
    instance.child.kill('SIGKILL');
    await gone;
  }

  /** Lines each instance logged that match (pino JSON, `msg` field). */
  logged(instance: Instance, msg: string): number {
    return instance.output.filter((line) => line.includes(`"msg":"${msg}"`)).length;
  }

  query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.db.query<R>(sql, params);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.instances.map((i) => stopProcess(i.child, 5000)));
    await this.db.end().catch(() => undefined);
  }
}
