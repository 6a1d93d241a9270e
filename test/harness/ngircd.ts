/**
 * Starts a real ngircd on 127.0.0.1 with a random port: no flood penalties, no per-IP limits,
 * no DNS/ident/PAM (see shared/notes/test-servers.md). Needs `scripts/setup-irc.sh`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, program, stopProcess, waitForOutput } from './util.js';

export interface NgircdOptions {
  /** Flood penalties as ngircd's default (`MaxPenaltyTime = -1`); off by default. */
  penalties?: boolean;
}

export class Ngircd {
  port = 0;
  private dir = '';
  private child: ChildProcess | undefined;

  constructor(private readonly options: NgircdOptions = {}) {}

  get host(): string {
    return '127.0.0.1';
  }

  async start(): Promise<void> {
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), 'virtbot-ngircd-'));
      await mkdir(join(this.dir, 'conf.d'));
      // ngircd drops root privileges to nobody: let it write its pid file.
      await chmod(this.dir, 0o777);
      this.port = await freePort();
      await writeFile(join(this.dir, 'ngircd.conf'), this.config());
    }
    const child = spawn(program('ngircd'), ['-n', '-f', join(this.dir, 'ngircd.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.on('error', () => {});
    await waitForOutput(child, /Server ".*" .*ready/, 10_000, 'ngircd start-up');
  }

  /** Stops the server (the port stays reserved for `start()` again). */
  async stop(): Promise<void> {
    if (this.child) await stopProcess(this.child);
    this.child = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private config(): string {
    return [
      '[Global]',
      '\tName = irc.test.local',
      '\tInfo = virtbot test ircd',
      '\tListen = 127.0.0.1',
      `\tPorts = ${this.port}`,
      '\tMotdPhrase = "test"',
      `\tPidFile = ${join(this.dir, 'ngircd.pid')}`,
      '[Limits]',
      '\tMaxConnectionsIP = 0',
      '\tMaxJoins = 0',
      '\tMaxNickLength = 30',
      `\tMaxPenaltyTime = ${this.options.penalties ? -1 : 0}`,
      '\tPingTimeout = 120',
      '\tPongTimeout = 20',
      '[Options]',
      '\tDNS = no',
      '\tIdent = no',
      '\tPAM = no',
      `\tIncludeDir = ${join(this.dir, 'conf.d')}`,
      '',
    ].join('\n');
  }
}
