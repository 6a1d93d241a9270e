/**
 * What the end-to-end suites share: the env file scripts/setup-libvirt.sh writes (real libvirtd
 * + QEMU behind sshd on 127.0.0.1, an unprivileged user in group libvirt), host configs for it,
 * an independent observer (a separate local virsh, root in CI), small throwaway VMs and their
 * QEMU processes.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { E2eEnv as BenchEnv } from '../../bench/lib/ssh.js';
import { HostSchema } from '../../src/config/sections/hosts.js';
import { withTimeout } from '../harness/util.js';

export const ENV_FILE = process.env['VIRTBOT_E2E_ENV'] ?? '/var/lib/virtbot-e2e/env.json';
const run = promisify(execFile);

/** The env file (bench/lib/ssh.ts reads the same file for the benchmarks). */
export interface E2eEnv extends Omit<BenchEnv, 'ssh'> {
  ssh: Required<BenchEnv['ssh']>;
  network2: string;
  iso: string;
  grantUsers: string[];
  grantGroup: string;
  /** A network defined but not started. */
  inactiveNetwork?: string;
  /** A private key the test user does not accept. */
  wrongKey?: string;
}

export const env: E2eEnv | null = existsSync(ENV_FILE)
  ? (JSON.parse(readFileSync(ENV_FILE, 'utf8')) as E2eEnv)
  : null;

export function skipReason(): string | undefined {
  return env ? undefined : `${ENV_FILE} not found — run 'sudo scripts/setup-libvirt.sh'`;
}

/** The independent observer: a separate, local virsh process. */
export async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await run('virsh', ['-q', '-c', env!.uri, ...args], {
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export const dumpxml = (name: string, inactive = false) =>
  virsh('dumpxml', ...(inactive ? ['--inactive'] : []), name);

/** The e2e host as virtbot's config has it (SSH as the unprivileged test user). */
export function sshHost(overrides: Record<string, unknown> = {}, name = 'e2e') {
  return HostSchema.parse({
    name,
    uri: env!.uri,
    // The test ISO lives outside the storage pools: the host's config lists its directory.
    paths: [dirname(env!.iso)],
    ssh: {
      host: env!.ssh.host,
      port: env!.ssh.port,
      user: env!.ssh.user,
      privateKey: { file: env!.ssh.privateKey },
      passphrase: { file: env!.ssh.passphraseFile },
      knownHosts: env!.ssh.knownHosts,
      timeoutSeconds: 60,
      ...overrides,
    },
  });
}

/** A small VM: no disk, no OS, one NIC; `pc` with ACPI hotplug, so a guest never releases a device. */
export function tinyDomainXml(name: string, options: { memoryMiB?: number; vcpus?: number } = {}): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>${options.memoryMiB ?? 32}</memory>
  <vcpu>${options.vcpus ?? 1}</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/></os>
  <features><acpi/></features>
  <devices>
    <interface type='network'><source network='${env!.network}'/><model type='virtio'/></interface>
    <memballoon model='virtio'/>
  </devices>
</domain>
`;
}

/** Define (and start) a throwaway VM through the observer; returns a remover. */
export async function tinyVm(name: string, start = true): Promise<() => Promise<void>> {
  await removeVm(name);
  await run('sh', ['-c', `virsh -q -c '${env!.uri}' define /dev/stdin <<'EOF'\n${tinyDomainXml(name)}EOF`]);
  if (start) await virsh('start', name);
  return () => removeVm(name);
}

export async function removeVm(name: string): Promise<void> {
  await virsh('destroy', name).catch(() => undefined);
  await virsh('undefine', name).catch(() => undefined);
}

/** The pid of a running VM's QEMU process. */
export async function qemuPid(name: string): Promise<number> {
  return Number((await readFile(`/run/libvirt/qemu/${name}.pid`, 'utf8')).trim());
}

/** Run `fn` with the VM's QEMU stopped (SIGSTOP); it is always continued (SIGCONT) afterwards. */
export async function withQemuStopped<T>(name: string, fn: (resume: () => void) => Promise<T>): Promise<T> {
  const pid = await qemuPid(name);
  let resumed = false;
  const resume = () => {
    if (resumed) return;
    resumed = true;
    process.kill(pid, 'SIGCONT');
  };
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn(resume);
  } finally {
    resume();
  }
}

/** Ask `probe` until it says yes, at most `tries` times (each ask is a real virsh round trip, never a sleep). */
export async function until(what: string, probe: () => Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) if (await probe()) return;
  throw new Error(`gave up waiting for ${what} after ${tries} looks`);
}

/** libvirt holds a job on the domain (its nowait stats leave out what needs one). */
export async function jobHeld(name: string): Promise<boolean> {
  const stats = await virsh('domstats', '--balloon', '--nowait', name);
  return !stats.includes('balloon.rss=');
}

export { withTimeout };
