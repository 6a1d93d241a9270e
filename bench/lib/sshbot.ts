/**
 * virtbot hosts reached over SSH, for the latency and fan-out benchmarks: the app as `virtbot
 * console` builds it (createApp: hosts, meetings, durable audit log), with a benchmark user who
 * may run everything.
 */
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import type { Bot } from '../../src/bot.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { type VirshArg, virshCommandLine } from '../../src/libvirt/virsh-quote.js';
import { benchConfig } from './bot.js';
import type { E2eEnv } from './ssh.js';

export function sshHost(
  name: string,
  uri: string,
  env: E2eEnv,
  port = env.ssh.port,
): ConfigInput['hosts'][number] {
  const ssh: Record<string, unknown> = {
    host: env.ssh.host,
    port,
    user: env.ssh.user,
    privateKey: { file: env.ssh.privateKey },
  };
  if (env.ssh.passphraseFile) ssh['passphrase'] = { file: env.ssh.passphraseFile };
  if (env.ssh.hostKey) ssh['hostKey'] = env.ssh.hostKey;
  else if (env.ssh.knownHosts) ssh['knownHosts'] = env.ssh.knownHosts;
  return { name, uri, ssh } as ConfigInput['hosts'][number];
}

/** The app over SSH hosts, or the reason virtbot cannot reach a host over SSH yet. */
export async function sshApp(dataDir: string, hosts: ConfigInput['hosts']): Promise<Bot | string> {
  const config = benchConfig(dataDir, hosts);
  const bot = await createApp(config, { logger: pino({ level: 'silent' }) });
  try {
    for (const name of bot.hosts.names()) bot.hosts.get(name);
  } catch (error) {
    await bot.close();
    return `virtbot cannot reach an SSH host yet (${(error as Error).message}): the SSH backend has not landed in src/libvirt`;
  }
  return bot;
}

/** The virsh commands a host's shell is asked to run while `fn` runs (a batch's one by one). */
export async function virshIssued(
  bot: Bot,
  host: string,
  fn: () => Promise<unknown>,
): Promise<{ command: string; args: VirshArg[] }[]> {
  return (await virshExchanges(bot, host, fn)).flat();
}

/**
 * The exchanges with a host's shell while `fn` runs: each a list of the commands sent in one
 * write (one for `run`, several for `runBatch`).
 */
export async function virshExchanges(
  bot: Bot,
  host: string,
  fn: () => Promise<unknown>,
): Promise<{ command: string; args: VirshArg[] }[][]> {
  const shell = bot.hosts.get(host).backend.shell;
  const { run, runBatch } = shell;
  const exchanges: { command: string; args: VirshArg[] }[][] = [];
  shell.run = (command, args = [], options = {}) => {
    exchanges.push([{ command, args: [...args] }]);
    return run.call(shell, command, args, options);
  };
  shell.runBatch = (commands, options = {}) => {
    exchanges.push(commands.map((c) => ({ command: c.command, args: [...(c.args ?? [])] })));
    return runBatch.call(shell, commands, options);
  };
  try {
    await fn();
  } finally {
    shell.run = run;
    shell.runBatch = runBatch;
  }
  return exchanges;
}

export function virshLine(c: { command: string; args: readonly VirshArg[] }): string {
  return virshCommandLine(c.command, c.args);
}

/** The same command as argv words for `ssh host virsh …`. */
export function virshArgv(c: { command: string; args: readonly VirshArg[] }): string[] {
  const out = [c.command];
  for (const a of c.args) {
    if (typeof a === 'string') out.push(a);
    else {
      out.push(a.option);
      if ('value' in a) out.push(String(a.value));
    }
  }
  return out;
}
