/**
 * Measuring helpers shared by the benchmarks: medians, side-by-side (interleaved) rounds, child
 * processes with their peak memory, and the machine's description.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function now(): number {
  return performance.now();
}

export interface Variant<T = number> {
  name: string;
  run: () => Promise<T>;
}

/**
 * Runs every variant once per round, rotating which goes first, so that the variants share the
 * machine's drift; returns each variant's samples in round order.
 */
export async function interleaved<T>(
  rounds: number,
  variants: readonly Variant<T>[],
): Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(r + i) % variants.length]!;
      out.get(v.name)!.push(await v.run());
    }
  }
  return out;
}

/** Wall time (ms) of `fn`. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = now();
  await fn();
  return now() - t0;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set size (KiB), from /usr/bin/time; undefined when it is not installed. */
  maxRssKiB: number | undefined;
}

const GNU_TIME = '/usr/bin/time';

export function haveGnuTime(): boolean {
  return existsSync(GNU_TIME);
}

/**
 * Runs a command to completion (killed after `timeoutMs`), timing it from spawn to exit and,
 * when GNU time is installed, reading its peak RSS.
 */
export async function runChild(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<ChildResult> {
  const dir = await mkdtemp(join(tmpdir(), 'virtbot-bench-time-'));
  const rssFile = join(dir, 'rss');
  const useTime = haveGnuTime();
  const [cmd, argv] = useTime
    ? [GNU_TIME, ['-f', '%M', '-o', rssFile, command, ...args]]
    : [command, [...args]];
  try {
    const t0 = now();
    const child = spawn(cmd, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    });
    const wallMs = now() - t0;
    clearTimeout(timer);
    let maxRssKiB: number | undefined;
    if (useTime) {
      const text = await readFile(rssFile, 'utf8').catch(() => '');
      const m = /(\d+)\s*$/.exec(text.trim());
      if (m) maxRssKiB = Number(m[1]);
    }
    return { code, signal, stdout, stderr, wallMs, maxRssKiB };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** stdout of a short command, or undefined when it fails. */
export function capture(
  command: string,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout) => resolve(error ? undefined : stdout),
    );
  });
}

/** Resident set size (KiB) of a running process, from /proc; undefined when it is gone. */
export async function rssOf(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = text === undefined ? null : /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  kernel: string;
  node: string;
  libvirt: string;
  filesystem: string;
}

export async function describeMachine(dataDir: string): Promise<Machine> {
  const list = cpus();
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? list[0]?.model ?? 'unknown';
  const virshVersion = (await capture('virsh', ['--version']))?.trim();
  let libvirt = virshVersion ? `libvirt ${virshVersion} (virsh)` : 'virsh not installed';
  const daemon = await capture('virsh', ['-c', 'qemu:///system', 'version', '--daemon'], 5000);
  if (daemon) {
    const d = /Running against daemon:\s*(\S+)/.exec(daemon)?.[1];
    const h = /Running hypervisor:\s*(.+)/.exec(daemon)?.[1]?.trim();
    if (d) libvirt += `, daemon ${d}`;
    if (h) libvirt += `, ${h}`;
  }
  const df = await capture('df', ['-T', dataDir]);
  const fsLine = df?.trim().split('\n')[1]?.split(/\s+/);
  return {
    cpu: model.trim(),
    cores: list.length,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    kernel: `Linux ${release()}`,
    node: process.version,
    libvirt,
    filesystem: fsLine ? `${fsLine[1]} (${dataDir})` : dataDir,
  };
}

/** A directory for durable files: on a disk, not on tmpfs, where fdatasync would cost nothing. */
export async function diskTmpDir(prefix: string): Promise<string> {
  for (const base of [tmpdir(), '/var/tmp']) {
    const df = await capture('df', ['-T', base]);
    const type = df?.trim().split('\n')[1]?.split(/\s+/)[1];
    if (type !== undefined && type !== 'tmpfs' && type !== 'ramfs') return mkdtemp(join(base, prefix));
  }
  return mkdtemp(join(tmpdir(), prefix));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
