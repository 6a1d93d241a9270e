/**
 * How virtbot reaches one host: a virsh shell, a way to hand libvirt a file (domain and device
 * XML) without passing it through any shell, and `getent` for the host's accounts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localVirshSpawner, type ShellProcess, type ShellSpawner, VirshShell } from './virsh-shell.js';

export interface HostBackend {
  readonly kind: 'local' | 'ssh';
  readonly shell: VirshShell;
  /** Write `content` to a new private (0600, in a 0700 directory) temporary file on the host, run `fn` with its path, remove it. */
  withTempFile<T>(content: string, fn: (path: string) => Promise<T>): Promise<T>;
  /** The host's `getent passwd` or `getent group` output. */
  getent(database: 'passwd' | 'group'): Promise<string>;
  /** A small configuration file of the host (login.defs); absent in backends that cannot. */
  readFile?(path: string): Promise<string>;
  /** Work that makes the first connection cheaper (read and decrypt the SSH key). */
  prepare?(): Promise<void>;
  /**
   * Another interactive `virsh -q -c URI` beside the shell (the event stream, waits that must
   * not hold the shell up): over SSH an exec channel on the same connection, locally a process.
   */
  spawnVirsh?(): Promise<ShellProcess>;
  /** Hear when the connection to the host goes (`false`, why) and comes back (`true`). */
  onLinkChange?(listener: (up: boolean, reason?: string) => void): void;
  close(): Promise<void>;
}

export interface LocalBackendOptions {
  host: string;
  uri: string;
  timeoutMs?: number;
  virshPath?: string;
}

export class LocalBackend implements HostBackend {
  readonly kind = 'local' as const;
  readonly shell: VirshShell;
  private readonly spawner: ShellSpawner;

  constructor(options: LocalBackendOptions) {
    this.spawner = localVirshSpawner(options.uri, options.virshPath);
    this.shell = new VirshShell({
      host: options.host,
      spawn: this.spawner,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
  }

  async withTempFile<T>(content: string, fn: (path: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'virtbot-'));
    try {
      const file = join(dir, 'object.xml');
      await writeFile(file, content, { mode: 0o600, flag: 'wx' });
      return await fn(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  getent(database: 'passwd' | 'group'): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('getent', [database], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
        if (error) reject(new Error(`getent ${database} failed: ${error.message}`));
        else resolve(stdout);
      });
    });
  }

  readFile(path: string): Promise<string> {
    return readFile(path, 'utf8');
  }

  spawnVirsh(): Promise<ShellProcess> {
    return this.spawner();
  }

  close(): Promise<void> {
    return this.shell.close();
  }
}
