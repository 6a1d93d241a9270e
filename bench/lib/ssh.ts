/**
 * The end-to-end setup (scripts/setup-libvirt.sh: libvirtd + QEMU behind sshd on 127.0.0.1) as
 * the latency and fan-out benchmarks use it: its env file, an OpenSSH client with the test key,
 * and the two things an operator would do instead of virtbot — one persistent `virsh` shell over
 * one SSH connection, and `ssh host virsh …` as a new process per command.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture, now } from './measure.js';

export const E2E_ENV = process.env['VIRTBOT_E2E_ENV'] ?? '/var/lib/virtbot-e2e/env.json';

export interface E2eEnv {
  uri: string;
  ssh: {
    host: string;
    port: number;
    user: string;
    privateKey: string;
    passphraseFile?: string;
    knownHosts?: string;
    hostKey?: string;
  };
  pool: string;
  network: string;
}

/** The env file, or the reason it cannot be used. */
export async function loadE2eEnv(): Promise<E2eEnv | string> {
  if (!existsSync(E2E_ENV)) return `no e2e env file ${E2E_ENV} (run scripts/setup-libvirt.sh as root)`;
  let env: E2eEnv;
  try {
    env = JSON.parse(await readFile(E2E_ENV, 'utf8')) as E2eEnv;
  } catch (error) {
    return `cannot read ${E2E_ENV}: ${(error as Error).message}`;
  }
  if (env.ssh.host !== '127.0.0.1')
    return `the e2e env file targets ${env.ssh.host}: benchmarks only target 127.0.0.1`;
  for (const tool of ['ssh', 'ssh-keygen']) {
    if ((await capture('sh', ['-c', `command -v ${tool}`])) === undefined) return `${tool} is not installed`;
  }
  return env;
}

/** Where an OpenSSH client logs in: the port, the user, the key (a decrypted private copy). */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  key: string;
  knownHosts: string;
}

/**
 * A passphrase-free copy of the test key in a private directory, for the OpenSSH client (which
 * would otherwise ask for the passphrase). Remove with `dispose`.
 */
export async function clientKey(env: E2eEnv): Promise<{ key: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'virtbot-bench-ssh-'));
  await chmod(dir, 0o700);
  const key = join(dir, 'id');
  await copyFile(env.ssh.privateKey, key);
  await chmod(key, 0o600);
  if (env.ssh.passphraseFile) {
    const pass = (await readFile(env.ssh.passphraseFile, 'utf8')).trim();
    await new Promise<void>((resolve, reject) =>
      execFile('ssh-keygen', ['-q', '-p', '-P', pass, '-N', '', '-f', key], (error) =>
        error ? reject(new Error(`cannot decrypt the test key: ${error.message}`)) : resolve(),
      ),
    );
  }
  return { key, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export function sshArgs(t: SshTarget): string[] {
  return [
    '-T',
    '-p',
    String(t.port),
    '-i',
    t.key,
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${t.knownHosts}`,
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
    '-o',
    'LogLevel=ERROR',
    `${t.user}@${t.host}`,
  ];
}

/** `ssh host virsh -c URI ARGS…`: a new process (and SSH connection) per command. */
export function sshVirsh(
  t: SshTarget,
  uri: string,
  args: readonly string[],
  input?: string,
): Promise<{ stdout: string; ms: number }> {
  const t0 = now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      'ssh',
      [...sshArgs(t), 'virsh', '-q', '-c', uri, ...args.map(shellQuote)],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`ssh virsh ${args.join(' ')}: ${stderr.trim() || error.message}`));
        else resolve({ stdout, ms: now() - t0 });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** For the remote login shell: one word, single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * One `ssh host virsh -q -c URI` kept open, commands typed into it one at a time as a person
 * would; the end of each command's output is found by a following `echo` of a marker.
 */
export class PersistentVirsh {
  private child: ChildProcessWithoutNullStreams | undefined;
  private out = '';
  private err = '';
  private waiting: { marker: string; resolve: () => void } | undefined;
  private seq = 0;

  constructor(
    private readonly argv: readonly string[],
    private readonly label: string,
  ) {}

  static overSsh(t: SshTarget, uri: string): PersistentVirsh {
    return new PersistentVirsh(
      ['ssh', ...sshArgs(t), 'virsh', '-q', '-c', uri],
      `ssh ${t.host}:${t.port} virsh`,
    );
  }

  async start(): Promise<void> {
    const [cmd, ...args] = this.argv;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      this.out += c;
      this.check();
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      this.err += c;
    });
    child.on('exit', () => {
      this.child = undefined;
    });
    await this.run('uri');
  }

  private check(): void {
    if (this.waiting && this.out.includes(this.waiting.marker)) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve();
    }
  }

  /** Type one command line; resolves with its output. Rejects on a virsh error or after 60 s. */
  async run(line: string): Promise<string> {
    if (!this.child) throw new Error(`${this.label} is not running: ${this.err.trim()}`);
    const marker = `VBMARK ${this.seq++}\n`;
    this.out = '';
    this.err = '';
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no answer to '${line}'`)), 60_000);
      this.waiting = {
        marker,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
    this.child.stdin.write(`${line}\necho ${marker}`);
    await done;
    if (/^error:/m.test(this.err)) throw new Error(`${this.label}: '${line}': ${this.err.trim()}`);
    return this.out.slice(0, this.out.indexOf(marker));
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin.end('quit\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A running VM for the benchmarks: q35, no disk, no OS, spare PCIe root ports and native PCIe
 * hot-plug (ACPI hot-plug off), so that NICs plug and unplug at once without a guest's help.
 */
export function benchDomainXml(name: string, network: string): string {
  return `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>${name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='network'/></os>
  <features><acpi/></features>
  <devices>
    <controller type='pci' model='pcie-root'/>
${"    <controller type='pci' model='pcie-root-port'/>\n".repeat(6)}    <interface type='network'><source network='${network}'/><model type='virtio'/></interface>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-global'/>
    <qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/>
  </qemu:commandline>
</domain>
`;
}

/** Define and start `name` (replacing a leftover of an interrupted run). */
export async function createBenchVm(t: SshTarget, env: E2eEnv, name: string): Promise<void> {
  await removeBenchVm(t, env, name);
  await sshVirsh(t, env.uri, ['define', '/dev/stdin'], benchDomainXml(name, env.network));
  await sshVirsh(t, env.uri, ['start', name]);
}

export async function removeBenchVm(t: SshTarget, env: E2eEnv, name: string): Promise<void> {
  await sshVirsh(t, env.uri, ['destroy', name]).catch(() => undefined);
  await sshVirsh(t, env.uri, ['undefine', name]).catch(() => undefined);
}
