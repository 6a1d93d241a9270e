/**
 * 6–8. Costs that should not grow: `vm list` on hosts with 1, 50 and 200 VMs; `vm info` on a
 * healthy host while another configured host is down (its SSH key refused) against all hosts up;
 * the first command after start-up against a warm one. Each side by side with its reference in
 * the same run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Bot } from '../src/bot.js';
import type { HostConfig } from '../src/config/sections/hosts.js';
import { LocalBackend } from '../src/libvirt/backend.js';
import { HostRegistry } from '../src/libvirt/hosts.js';
import { benchBot, benchConfig, send } from './lib/bot.js';
import { diskTmpDir, interleaved, median, now, sleep } from './lib/measure.js';
import { type BenchContext, type Figure, type Section, skipped, times } from './lib/report.js';
import { E2E_ENV, type E2eEnv, loadE2eEnv } from './lib/ssh.js';
import { sshApp, sshHost } from './lib/sshbot.js';

const run = promisify(execFile);
const BENCH_ENV = join(E2E_ENV, '..', 'bench-env.json');

interface Session {
  user: string;
  home: string;
  runtimeDir: string;
  vms: number;
}

/** Round trips to virsh (commands and batches) while `fn` runs. */
async function roundTrips(bot: Bot, host: string, fn: () => Promise<unknown>): Promise<number> {
  const shell = bot.hosts.get(host).backend.shell;
  const { run: one, runBatch } = shell;
  let n = 0;
  shell.run = (...a) => {
    n++;
    return one.apply(shell, a);
  };
  shell.runBatch = (...a) => {
    n++;
    return runBatch.apply(shell, a);
  };
  try {
    await fn();
  } finally {
    shell.run = one;
    shell.runBatch = runBatch;
  }
  return n;
}

/** A figure in ms against a reference in ms, with "1.23× <what>" and, optionally, a ≤ target. */
function versus(
  label: string,
  value: number,
  runs: number,
  reference: [label: string, value: number],
  what: string,
  target?: number,
): Figure {
  const ratio = value / reference[1];
  return {
    label,
    value,
    unit: 'ms',
    runs,
    reference: { label: reference[0], value: reference[1], unit: 'ms' },
    ratio: `${times(ratio)} ${what}`,
    ...(target !== undefined ? { target: `≤ ${target}× ${what}`, met: ratio <= target } : {}),
  };
}

const timedSend = (bot: Bot, line: string, before?: () => void) => async () => {
  before?.();
  const t0 = now();
  await send(bot, line);
  return now() - t0;
};

// ---------------------------------------------------------------- 6. vm list, 1 / 50 / 200 VMs

const LIST_TITLE = '`vm list` with 1, 50 and 200 VMs';
const LIST_METHOD = [
  `Three hosts, each an unprivileged user's own libvirt (qemu:///session) with 1, 50 and 200 defined (not running) VMs, made by scripts/setup-bench.sh (${BENCH_ENV}); virtbot reaches each through a local \`runuser -u USER -- virsh\`.`,
  'One bot per host (`createApp`-equivalent: the real Bot with a user allowed `*`), `vm list` through the whole pipeline, warm; the three interleaved round by round.',
];

export async function listFlat(ctx: BenchContext): Promise<Section> {
  if (!existsSync(BENCH_ENV))
    return skipped(6, LIST_TITLE, `no ${BENCH_ENV}: run scripts/setup-bench.sh as root`, LIST_METHOD);
  const bench = JSON.parse(await readFile(BENCH_ENV, 'utf8')) as { sessions?: Session[] };
  const sessions = bench.sessions ?? [];
  if (sessions.length < 3)
    return skipped(
      6,
      LIST_TITLE,
      `${BENCH_ENV} has no sessions: run scripts/setup-bench.sh again`,
      LIST_METHOD,
    );
  const dir = await diskTmpDir('virtbot-bench-flat-');
  const bots: { n: number; bot: Bot; host: string }[] = [];
  try {
    for (const s of sessions) {
      const wrapper = join(dir, `virsh-${s.user}`);
      await writeFile(
        wrapper,
        `#!/bin/sh\nexec runuser -u '${s.user}' -- env HOME='${s.home}' XDG_RUNTIME_DIR='${s.runtimeDir}' virsh "$@"\n`,
      );
      await chmod(wrapper, 0o755);
      const host = `n${s.vms}`;
      const config = benchConfig(join(dir, host), [{ name: host, uri: 'qemu:///session' }]);
      const hosts = new HostRegistry(config, {
        backend: (h: HostConfig) => new LocalBackend({ host: h.name, uri: h.uri, virshPath: wrapper }),
      });
      const bot = benchBot(config, hosts);
      bots.push({ n: s.vms, bot, host });
      await send(bot, 'vm list', new RegExp(`^${s.vms} VMs? on ${host}`));
    }
    const trips = new Map<number, number>();
    for (const b of bots) trips.set(b.n, await roundTrips(b.bot, b.host, () => send(b.bot, 'vm list')));
    const rounds = ctx.quick ? 10 : 30;
    const domstats = (b: (typeof bots)[number]) => async () => {
      const t0 = now();
      await b.bot.hosts.get(b.host).batch([
        {
          command: 'domstats',
          args: [
            { option: '--state' },
            { option: '--balloon' },
            { option: '--vcpu' },
            { option: '--nowait' },
          ],
        },
      ]);
      return now() - t0;
    };
    const res = await interleaved(rounds, [
      ...bots.map((b) => ({ name: String(b.n), run: timedSend(b.bot, 'vm list') })),
      ...bots.map((b) => ({ name: `floor${b.n}`, run: domstats(b) })),
    ]);
    const m = (n: number | string) => median(res.get(String(n))!);
    const one = m(sessions[0]!.vms);
    const figures: Figure[] = sessions
      .slice(1)
      .map((s) =>
        versus(
          `\`vm list\` on a host with ${s.vms} VMs`,
          m(s.vms),
          rounds,
          [`the same with ${sessions[0]!.vms} VM`, one],
          '1 VM',
          s.vms === 200 ? 2 : undefined,
        ),
      );
    const last = sessions[sessions.length - 1]!.vms;
    const first = sessions[0]!.vms;
    figures.push({
      label: `floor: libvirt's own \`domstats\` of ${last} domains, through the same shell`,
      value: m(`floor${last}`),
      unit: 'ms',
      runs: rounds,
      reference: { label: `of ${first}`, value: m(`floor${first}`), unit: 'ms' },
      ratio: `${times(m(`floor${last}`) / m(`floor${first}`))}; libvirt adds ${(m(`floor${last}`) - m(`floor${first}`)).toFixed(1)} ms for ${last - first} more VMs`,
    });
    const extra = m(last) - one;
    const libvirtExtra = m(`floor${last}`) - m(`floor${first}`);
    const notes = [
      `Round trips to virsh per \`vm list\`: ${[...trips].map(([n, t]) => `${t} with ${n} VMs`).join(', ')} (\`domstats --nowait\` for every domain and \`list --transient\` in one batch).`,
      `From ${first} to ${last} VMs \`vm list\` takes ${extra.toFixed(1)} ms more, of which libvirt's own domstats accounts for ${libvirtExtra.toFixed(1)} ms (its per-domain cost, measured alone above): the rest (${(extra - libvirtExtra).toFixed(1)} ms) is parsing, formatting ${last} lines and the record.${m(last) / one > 2 ? ` ≤ 2× would need the 1-VM \`vm list\` (${one.toFixed(1)} ms) to cost at least what libvirt alone adds for ${last} domains; on this machine it does not, so the target is out of reach for any client that asks libvirt each time.` : ''}`,
    ];
    return { id: 6, title: LIST_TITLE, status: 'ran', figures, method: LIST_METHOD, notes };
  } finally {
    await Promise.allSettled(bots.map((b) => b.bot.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 7. vm info with a host down

const DOWN_TITLE = '`vm info` while another host is down';
const VM = 'vbbench-flat';

const DOWN_METHOD = [
  'Two bots over SSH to the e2e setup (scripts/setup-libvirt.sh): one with the healthy host and a second host whose SSH key the host refuses (down from start-up: `HostRegistry.connectAll()`); the reference with the healthy host and a second healthy one (the same sshd, libvirt’s test driver: it does not hold the VM).',
  `\`vm info ${VM}\` (a defined, stopped VM) without host=, through the whole pipeline; before each command the bot forgets where the VM is, so that every configured host is asked (the worst case; once the VM's place is known only its host is asked).`,
];

async function defineFlatVm(env: E2eEnv): Promise<void> {
  await run('sh', [
    '-c',
    `virsh -q -c '${env.uri}' define /dev/stdin >/dev/null <<'EOF'\n<domain type='qemu'><name>${VM}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>\nEOF`,
  ]);
}

async function removeFlatVm(env: E2eEnv): Promise<void> {
  await run('virsh', ['-q', '-c', env.uri, 'undefine', VM]).catch(() => undefined);
}

export async function infoWithHostDown(ctx: BenchContext): Promise<Section> {
  const env = await loadE2eEnv();
  if (typeof env === 'string') return skipped(7, DOWN_TITLE, env, DOWN_METHOD);
  const wrongKey = (JSON.parse(await readFile(E2E_ENV, 'utf8')) as { wrongKey?: string }).wrongKey;
  if (!wrongKey)
    return skipped(
      7,
      DOWN_TITLE,
      `${E2E_ENV} has no wrongKey: run scripts/setup-libvirt.sh again`,
      DOWN_METHOD,
    );
  const dir = await diskTmpDir('virtbot-bench-down-');
  const bots: Bot[] = [];
  try {
    await defineFlatVm(env);
    const broken = {
      ...sshHost('lab', env.uri, env),
      ssh: { ...sshHost('lab', env.uri, env).ssh, privateKey: { file: wrongKey } },
    };
    delete (broken.ssh as { passphrase?: unknown }).passphrase;
    const down = await sshApp(join(dir, 'down'), [sshHost('e2e', env.uri, env), broken as never]);
    // The second host is up and does not hold the VM (libvirt's test driver behind the same
    // sshd): a second host on the same libvirtd would hold it too, and the VM would be ambiguous.
    const up = await sshApp(join(dir, 'up'), [
      sshHost('e2e', env.uri, env),
      sshHost('e2f', 'test:///default', env),
    ]);
    if (typeof down === 'string' || typeof up === 'string')
      return skipped(7, DOWN_TITLE, String(down), DOWN_METHOD);
    bots.push(down, up);
    const views = await down.hosts.connectAll();
    await up.hosts.connectAll();
    const state = views.map((v) => `${v.host} ${v.state}${v.code ? ` (${v.code})` : ''}`).join(', ');
    await send(down, `vm info ${VM}`, new RegExp(`^${VM} on e2e`));
    await send(up, `vm info ${VM}`, new RegExp(`^${VM} on e2e`));
    const rounds = ctx.quick ? 10 : 30;
    const res = await interleaved(rounds, [
      { name: 'down', run: timedSend(down, `vm info ${VM}`, () => down.hosts.forgetPlace()) },
      { name: 'up', run: timedSend(up, `vm info ${VM}`, () => up.hosts.forgetPlace()) },
      { name: 'downKnown', run: timedSend(down, `vm info ${VM}`) },
      { name: 'upKnown', run: timedSend(up, `vm info ${VM}`) },
    ]);
    const d = median(res.get('down')!);
    const u = median(res.get('up')!);
    const dk = median(res.get('downKnown')!);
    const uk = median(res.get('upKnown')!);
    const figures: Figure[] = [
      versus(
        '`vm info` on the healthy host, every host asked, one configured host down',
        d,
        rounds,
        ['all hosts up', u],
        'all up',
        1.2,
      ),
      versus(
        '`vm info`, its place known, one configured host down',
        dk,
        rounds,
        ['all hosts up', uk],
        'all up',
      ),
    ];
    return {
      id: 7,
      title: DOWN_TITLE,
      status: 'ran',
      figures,
      method: DOWN_METHOD,
      notes: [
        `Hosts after start-up: ${state}. The down host answers each call at once (HostDownError); it is retried in the background.`,
      ],
    };
  } finally {
    await Promise.allSettled(bots.map((b) => b.close()));
    await removeFlatVm(env);
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 8. first command after start

const FIRST_TITLE = 'First command after start-up';
const FIRST_METHOD = [
  'The app as `virtbot console` builds it (`createApp`), one SSH host (the e2e setup, its key encrypted with a passphrase), then `HostRegistry.connectAll()` as start-up does (connect, decrypt the key once, start virsh and the event stream): then the first `vm info` through the whole pipeline, and a second one (warm). A fresh app each round.',
  'For the record: the same without `connectAll()` (the first command connects); `whoami` (asks no host) the same way; and `vm info` half a second after `connectAll()` returned.',
];

export async function firstCommand(ctx: BenchContext): Promise<Section> {
  const env = await loadE2eEnv();
  if (typeof env === 'string') return skipped(8, FIRST_TITLE, env, FIRST_METHOD);
  const dir = await diskTmpDir('virtbot-bench-first-');
  try {
    await defineFlatVm(env);
    const line = `vm info ${VM} host=e2e`;
    let n = 0;
    const sample = async (connect: boolean, command = line, settleMs = 0) => {
      const bot = await sshApp(join(dir, `app${n++}`), [sshHost('e2e', env.uri, env)]);
      if (typeof bot === 'string') throw new Error(bot);
      try {
        if (connect) await bot.hosts.connectAll();
        if (settleMs > 0) await sleep(settleMs);
        const first = await timedSend(bot, command)();
        const warm = await timedSend(bot, command)();
        return { first, warm };
      } finally {
        await bot.close();
      }
    };
    const rounds = ctx.quick ? 3 : 8;
    const res = await interleaved(rounds, [
      { name: 'start', run: () => sample(true) },
      { name: 'lazy', run: () => sample(false) },
      { name: 'whoami', run: () => sample(true, 'whoami') },
      { name: 'settled', run: () => sample(true, line, 500) },
    ]);
    const first = median(res.get('start')!.map((s) => s.first));
    const warm = median(res.get('start')!.map((s) => s.warm));
    const lazy = median(res.get('lazy')!.map((s) => s.first));
    const whoFirst = median(res.get('whoami')!.map((s) => s.first));
    const whoWarm = median(res.get('whoami')!.map((s) => s.warm));
    const settled = median(res.get('settled')!.map((s) => s.first));
    const settledWarm = median(res.get('settled')!.map((s) => s.warm));
    const figures: Figure[] = [
      versus(
        'first `vm info` after start-up (hosts connected at start)',
        first,
        rounds,
        ['a warm `vm info`', warm],
        'warm',
        1.5,
      ),
      versus(
        'first `vm info` without connecting at start (it connects)',
        lazy,
        rounds,
        ['a warm `vm info`', warm],
        'warm',
      ),
      versus(
        'first `whoami` (asks no host) after start-up',
        whoFirst,
        rounds,
        ['a warm `whoami`', whoWarm],
        'warm',
      ),
      versus(
        'first `vm info` 0.5 s after start-up returned',
        settled,
        rounds,
        ['a warm `vm info`', settledWarm],
        'warm',
      ),
    ];
    const notes = [
      `Of the first \`vm info\`'s ${(first - warm).toFixed(1)} ms over a warm one, ${(whoFirst - whoWarm).toFixed(1)} ms is the app's own first command, as \`whoami\` (which asks no host) shows: the audit log's first record, the pipeline's first run. Connecting at start-up takes the SSH connection, the key's decryption and virsh's start (${(lazy - first).toFixed(0)} ms here) off the first command. Half a second after start-up the first \`vm info\` is ${times(settled / settledWarm)} a warm one: what the first command still pays is not the connection (up by then) but the first uses of a fresh libvirt connection and of the app. This machine is shared: its load average was ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores at the end of this benchmark, and these few-millisecond differences vary by tens of percent from run to run.`,
    ];
    return { id: 8, title: FIRST_TITLE, status: 'ran', figures, method: FIRST_METHOD, notes };
  } finally {
    await removeFlatVm(env);
    await rm(dir, { recursive: true, force: true });
  }
}
