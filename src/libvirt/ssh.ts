/**
 * Reaching a host over SSH with ssh2: one connection per host, kept open and reused, with
 * keepalive, a handshake timeout and reconnection with exponential backoff. The host key must
 * match the configured `hostKey` or an entry of the `knownHosts` file: an unknown or changed
 * key is refused. On that one connection:
 *  - virsh runs as a long-lived `virsh -c URI` on one exec channel (see virsh-shell.ts);
 *  - XML travels by SFTP into a private temporary directory (0700) and file (0600), never
 *    through a shell;
 *  - `getent passwd|group` run as fixed commands (nothing from chat in them).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { readSecret } from '../config/read-secret.js';
import type { HostConfig, SshConfig } from '../config/sections/hosts.js';
import type { HostBackend } from './backend.js';
import { describeKey, HostKeyError, SshAuthError, SshUnreachableError, socketReason } from './ssh/errors.js';
import {
  closeOnce,
  messageOf,
  type ShellProcess,
  VIRSH_ENV,
  VirshConnectionError,
  VirshShell,
} from './virsh-shell.js';

type Client = InstanceType<typeof ssh2.Client>;
type SFTPWrapper = Parameters<Parameters<Client['sftp']>[0]>[1];
type ParsedKey = Exclude<ReturnType<typeof ssh2.utils.parseKey>, Error | unknown[]>;

export { HostKeyError, SshAuthError, SshUnreachableError } from './ssh/errors.js';

/** POSIX shell single-quoting, for the fixed remote command line (the URI comes from the config). */
export function shellQuote(text: string): string {
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new Error('control character in a remote command argument');
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

// ------------------------------------------------------------------ host keys

export interface KnownKey {
  type: string;
  /** The key blob (base64-decoded). */
  blob: Buffer;
  revoked: boolean;
}

/** The name a host has in known_hosts: `host` for port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hostPatternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    const want = Buffer.from(hash, 'base64');
    return want.length === mac.length && timingSafeEqual(want, mac);
  }
  const glob = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return glob.test(name);
}

/** Keys listed for `name` in known_hosts text (negated patterns and @cert-authority lines skipped). */
export function parseKnownHosts(text: string, name: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') continue;
      revoked = marker === '@revoked';
    }
    const [patterns, type, key] = fields;
    if (!patterns || !type || !key) continue;
    let match = false;
    for (const p of patterns.split(',')) {
      if (p.startsWith('!')) {
        if (hostPatternMatches(p.slice(1), name)) {
          match = false;
          break;
        }
      } else if (hostPatternMatches(p, name)) match = true;
    }
    if (match) keys.push({ type, blob: Buffer.from(key, 'base64'), revoked });
  }
  return keys;
}

/** The key type written inside a public key blob (string length-prefixed). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** Decide about a presented host key: returns null when accepted, else the refusal reason. */
export function checkHostKey(presented: Buffer, trusted: KnownKey[], where: string): string | null {
  const revoked = trusted.find((k) => k.revoked && k.blob.equals(presented));
  if (revoked) return `the host key of ${where} is marked @revoked`;
  const valid = trusted.filter((k) => !k.revoked);
  if (valid.some((k) => k.blob.equals(presented))) return null;
  const type = blobType(presented);
  if (valid.length === 0) return `unknown host key (${type}) for ${where}: add it to hostKey or known_hosts`;
  return `HOST KEY CHANGED for ${where}: presented ${type} key matches none of the ${valid.length} trusted key(s) — refusing to connect`;
}

async function trustedKeys(ssh: SshConfig): Promise<KnownKey[]> {
  const keys: KnownKey[] = [];
  if (ssh.hostKey !== undefined) {
    const [type, key] = ssh.hostKey.trim().split(/\s+/);
    if (!type || !key) throw new HostKeyError('hostKey must be a public key line like "ssh-ed25519 AAAA…"');
    keys.push({ type, blob: Buffer.from(key, 'base64'), revoked: false });
  }
  if (ssh.knownHosts !== undefined) {
    const text = await readFile(ssh.knownHosts, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new HostKeyError(`cannot read known_hosts ${ssh.knownHosts}: ${error.code ?? error.message}`);
    });
    keys.push(...parseKnownHosts(text, knownHostsName(ssh.host, ssh.port)));
  }
  return keys;
}

// ------------------------------------------------------------------ connection

export interface SshSessionOptions {
  /** First reconnect delay (ms); doubles per failure up to maxBackoffMs. 0: none (the host's circuit breaker decides). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Waits out a reconnect delay (tests pass one that records it). */
  delay?: (ms: number) => Promise<void>;
}

/** One SSH connection to a host, opened on demand and reopened (with backoff) when it drops. */
export class SshSession {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private sftpSession: Promise<SFTPWrapper> | null = null;
  private failures = 0;
  private closed = false;
  private parsedKey: Promise<ParsedKey> | null = null;
  private keyDescription = 'of the config';
  private readonly listeners: ((up: boolean, reason?: string) => void)[] = [];
  /** Connections opened so far. */
  connects = 0;
  lastError: string | undefined;

  constructor(
    readonly hostName: string,
    private readonly ssh: SshConfig,
    private readonly options: SshSessionOptions = {},
  ) {}

  async connection(): Promise<Client> {
    if (this.closed) throw new VirshConnectionError(`SSH session to ${this.hostName} is closed`);
    if (this.client) return this.client;
    if (!this.connecting) {
      this.connecting = this.connectWithBackoff().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async connectWithBackoff(): Promise<Client> {
    if (this.failures > 0) {
      const base = this.options.backoffMs ?? 500;
      const delay = Math.min(this.options.maxBackoffMs ?? 30_000, base * 2 ** (this.failures - 1));
      if (delay > 0)
        await (this.options.delay ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms))))(delay);
    }
    try {
      const client = await this.connectOnce();
      this.failures = 0;
      this.lastError = undefined;
      return client;
    } catch (error) {
      this.failures++;
      this.lastError = messageOf(error);
      throw error;
    }
  }

  /** The private key, read and decrypted once (bcrypt key derivation is slow) and reused on reconnects. */
  private async key(): Promise<ParsedKey> {
    if (!this.parsedKey) {
      const parse = async (): Promise<ParsedKey> => {
        const ssh = this.ssh;
        let text = await readSecret(ssh.privateKey, `ssh private key of ${this.hostName}`);
        let path: string | undefined;
        // A file secret holds the key itself; an environment variable may hold the key or its path.
        if ('env' in ssh.privateKey && text.startsWith('/') && !text.includes('PRIVATE KEY')) {
          path = text;
          text = await readFile(text, 'utf8');
        }
        this.keyDescription = describeKey(ssh.privateKey, path);
        const passphrase = ssh.passphrase
          ? await readSecret(ssh.passphrase, `ssh key passphrase of ${this.hostName}`)
          : undefined;
        const parsed = ssh2.utils.parseKey(text, passphrase);
        if (parsed instanceof Error) {
          throw new VirshConnectionError(
            `cannot use the SSH key ${this.keyDescription} for ${this.hostName}: ${parsed.message}`,
          );
        }
        return Array.isArray(parsed) ? parsed[0]! : parsed;
      };
      const pending = parse();
      // A failure is not cached: the file may be fixed before the next try.
      pending.catch(() => {
        if (this.parsedKey === pending) this.parsedKey = null;
      });
      this.parsedKey = pending;
    }
    return this.parsedKey;
  }

  /** Read and decrypt the key now (at start-up), so that the first connection does not pay for it. */
  async prepare(): Promise<void> {
    await this.key();
  }

  /** Called with `true` when a connection is up, `false` (and why) when it is gone. */
  onChange(listener: (up: boolean, reason?: string) => void): void {
    this.listeners.push(listener);
  }

  private emit(up: boolean, reason?: string): void {
    for (const l of this.listeners) l(up, reason);
  }

  private async connectOnce(): Promise<Client> {
    const ssh = this.ssh;
    const trusted = await trustedKeys(ssh);
    const privateKey = await this.key();
    const where = `${this.hostName} (${knownHostsName(ssh.host, ssh.port)})`;
    const login = `${ssh.user}@${knownHostsName(ssh.host, ssh.port).replace(/^\[(.*)\]:/, '$1:')}`;
    return new Promise<Client>((resolve, reject) => {
      const client = new ssh2.Client();
      let refused: string | null = null;
      let settled = false;
      const failed = (error: Error & { level?: string; code?: string }): Error => {
        if (refused !== null) return new VirshConnectionError(`SSH to ${where} failed: ${refused}`);
        if (error.level === 'client-authentication') return new SshAuthError(login, this.keyDescription);
        return new SshUnreachableError(login, socketReason(error));
      };
      client.on('ready', () => {
        settled = true;
        if (this.closed) {
          // close() was called while connecting: do not keep a connection nobody will close.
          client.end();
          reject(new VirshConnectionError(`SSH session to ${this.hostName} is closed`));
          return;
        }
        this.client = client;
        this.connects++;
        this.emit(true);
        resolve(client);
      });
      client.on('error', (error) => {
        if (!settled) {
          settled = true;
          reject(failed(error));
        }
      });
      client.on('close', () => {
        if (this.client === client) {
          this.client = null;
          this.sftpSession = null;
          if (!this.closed) this.emit(false, 'the SSH connection was lost');
        }
        if (!settled) {
          settled = true;
          reject(
            refused !== null
              ? new VirshConnectionError(`SSH to ${where} closed: ${refused}`)
              : new SshUnreachableError(login, 'the connection closed before SSH was ready'),
          );
        }
      });
      try {
        client.connect({
          host: ssh.host,
          port: ssh.port,
          username: ssh.user,
          // The parsed key goes in as an auth method: ssh2 reads `privateKey` only as text.
          authHandler: [publicKeyAuth(ssh.user, privateKey)],
          hostVerifier: (key: Buffer) => {
            refused = checkHostKey(key, trusted, where);
            return refused === null;
          },
          keepaliveInterval: ssh.keepaliveSeconds * 1000,
          keepaliveCountMax: 3,
          readyTimeout: ssh.timeoutSeconds * 1000,
        });
      } catch (error) {
        settled = true;
        reject(new VirshConnectionError(`SSH to ${where} failed: ${messageOf(error)}`));
      }
    });
  }

  /** Run a fixed command; resolves with its stdout. */
  async exec(command: string): Promise<string> {
    const client = await this.connection();
    return withTimeout<string>(
      this.ssh.timeoutSeconds * 1000,
      `'${command}' on ${this.hostName}`,
      (resolve, reject) => {
        client.exec(command, (error, stream) => {
          if (error) {
            reject(new VirshConnectionError(`cannot run a command on ${this.hostName}: ${error.message}`));
            return;
          }
          let out = '';
          let err = '';
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => {
            out += chunk;
          });
          stream.stderr.on('data', (chunk: Buffer) => {
            err += chunk.toString('utf8');
          });
          stream.on('close', (code: number | null) => {
            if (code === 0) resolve(out);
            else reject(new Error(`'${command}' on ${this.hostName} exited with ${code}: ${err.trim()}`));
          });
        });
      },
    );
  }

  /** A virsh process on an exec channel. */
  async virshProcess(uri: string): Promise<ShellProcess> {
    const client = await this.connection();
    const env = Object.entries(VIRSH_ENV)
      .map(([k, v]) => `${k}=${shellQuote(v)}`)
      .join(' ');
    const command = `exec env ${env} virsh -q -c ${shellQuote(uri)}`;
    return new Promise((resolve, reject) => {
      client.exec(command, (error, stream) => {
        if (error) {
          reject(new VirshConnectionError(`cannot start virsh on ${this.hostName}: ${error.message}`));
          return;
        }
        const { closed, onClose } = closeOnce();
        stream.on('close', (code: number | null, signal?: string) =>
          closed(
            signal
              ? `was killed (${signal})`
              : code === null || code === undefined
                ? 'lost its connection'
                : `exited (status ${code})`,
          ),
        );
        stream.on('error', (e: Error) => closed(`failed (${e.message})`));
        const lost = () => closed('lost its SSH connection');
        client.once('close', lost);
        stream.once('close', () => client.removeListener('close', lost));
        stream.setEncoding('utf8');
        stream.stderr.setEncoding('utf8');
        resolve({
          write: (data) => {
            stream.write(data);
          },
          onStdout: (listener) => stream.on('data', listener),
          onStderr: (listener) => stream.stderr.on('data', listener),
          onClose,
          kill: () => {
            stream.close();
          },
        });
      });
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    if (!this.sftpSession) {
      const session = this.connection().then(
        (client) =>
          new Promise<SFTPWrapper>((resolve, reject) => {
            client.sftp((error, sftp) => {
              if (error)
                reject(new VirshConnectionError(`SFTP to ${this.hostName} failed: ${error.message}`));
              else {
                sftp.on('close', () => {
                  if (this.sftpSession === session) this.sftpSession = null;
                });
                resolve(sftp);
              }
            });
          }),
      );
      session.catch(() => {
        if (this.sftpSession === session) this.sftpSession = null;
      });
      this.sftpSession = session;
    }
    return this.sftpSession;
  }

  /** Write `content` into a new private temporary file on the host, run `fn`, remove it. */
  async withTempFile<T>(content: string, fn: (path: string) => Promise<T>): Promise<T> {
    const dir = `/tmp/virtbot-${randomBytes(12).toString('hex')}`;
    const file = `${dir}/object.xml`;
    let sftp = await this.sftp();
    // mkdir fails if the name exists: nobody can have prepared the directory for us.
    await this.sftpCall(sftp, 'mkdir', (cb) => sftp.mkdir(dir, { mode: 0o700 }, cb));
    try {
      await this.sftpCall(sftp, 'write', (cb) =>
        sftp.writeFile(file, content, { mode: 0o600, flag: 'wx' }, cb),
      );
      return await fn(file);
    } finally {
      // Best effort; after a dropped connection, on the new one.
      try {
        sftp = await this.sftp();
        await this.sftpCall(sftp, 'unlink', (cb) => sftp.unlink(file, cb)).catch(() => undefined);
        await this.sftpCall(sftp, 'rmdir', (cb) => sftp.rmdir(dir, cb)).catch(() => undefined);
      } catch {
        // The host is unreachable: the private file stays in its 0700 directory.
      }
    }
  }

  /** One SFTP request, failed by a timeout or by the loss of the connection (ssh2 leaves its callback pending then). */
  /** Read a (small, fixed) file on the host over SFTP. */
  async readFile(path: string): Promise<string> {
    const sftp = await this.sftp();
    let text = '';
    await this.sftpCall(sftp, 'read', (cb) =>
      sftp.readFile(path, { encoding: 'utf8' }, (error, data) => {
        if (!error) text = typeof data === 'string' ? data : data.toString('utf8');
        cb(error);
      }),
    );
    return text;
  }

  private sftpCall(
    sftp: SFTPWrapper,
    what: string,
    op: (cb: (error: Error | null | undefined) => void) => void,
  ): Promise<void> {
    return withTimeout<void>(
      this.ssh.timeoutSeconds * 1000,
      `SFTP ${what} on ${this.hostName}`,
      (resolve, reject) => {
        const lost = () =>
          reject(new VirshConnectionError(`SFTP ${what} on ${this.hostName}: connection lost`));
        const client = this.client;
        if (!client) {
          lost();
          return;
        }
        sftp.once('close', lost);
        client.once('close', lost);
        op((error) => {
          sftp.removeListener('close', lost);
          client.removeListener('close', lost);
          if (error) reject(new VirshConnectionError(`SFTP ${what} on ${this.hostName}: ${error.message}`));
          else resolve();
        });
      },
    );
  }

  /** Drop the connection (as if the network failed); the next use reconnects. */
  drop(): void {
    this.client?.end();
    (this.client as unknown as { _sock?: { destroy(): void } } | null)?._sock?.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    client?.end();
  }
}

function publicKeyAuth(username: string, key: ParsedKey): ssh2.AuthMethod {
  const method: ssh2.PublicKeyAuthMethod = { type: 'publickey', username, key };
  return method;
}

/** A promise that fails with VirshConnectionError when it has not settled within `ms`. */
function withTimeout<T>(
  ms: number,
  what: string,
  executor: (resolve: (value: T) => void, reject: (error: Error) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new VirshConnectionError(`${what} timed out after ${Math.round(ms / 1000)} s`)),
      ms,
    );
    executor(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export class SshBackend implements HostBackend {
  readonly kind = 'ssh' as const;
  readonly shell: VirshShell;
  readonly session: SshSession;

  private readonly uri: string;

  constructor(host: HostConfig, options: SshSessionOptions & { timeoutMs?: number } = {}) {
    if (!host.ssh) throw new Error(`host '${host.name}' has no ssh settings`);
    this.uri = host.uri;
    this.session = new SshSession(host.name, host.ssh, options);
    const timeoutMs = options.timeoutMs ?? host.ssh.timeoutSeconds * 1000;
    this.shell = new VirshShell({
      host: host.name,
      spawn: () => this.session.virshProcess(host.uri),
      timeoutMs,
      startTimeoutMs: timeoutMs,
    });
  }

  withTempFile<T>(content: string, fn: (path: string) => Promise<T>): Promise<T> {
    return this.session.withTempFile(content, fn);
  }

  getent(database: 'passwd' | 'group'): Promise<string> {
    return this.session.exec(`getent ${database}`);
  }

  readFile(path: string): Promise<string> {
    return this.session.readFile(path);
  }

  prepare(): Promise<void> {
    return this.session.prepare();
  }

  spawnVirsh(): Promise<ShellProcess> {
    return this.session.virshProcess(this.uri);
  }

  onLinkChange(listener: (up: boolean, reason?: string) => void): void {
    this.session.onChange(listener);
  }

  async close(): Promise<void> {
    await this.shell.close();
    await this.session.close();
  }
}
