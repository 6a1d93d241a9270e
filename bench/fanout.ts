/**
 * 4. Fan-out: `vm list` across 16 hosts (16 sshd instances on 127.0.0.1, each in front of a
 * test:///default virsh) against one host, warm, through the whole pipeline; side by side with
 * what the hardware allows: the same virsh commands typed into 16 persistent virsh-over-SSH
 * shells at once against one.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Bot } from '../src/bot.js';
import { send } from './lib/bot.js';
import { diskTmpDir, interleaved, median, now } from './lib/measure.js';
import { type BenchContext, type Figure, type Section, skipped, times } from './lib/report.js';
import { clientKey, E2E_ENV, loadE2eEnv, PersistentVirsh } from './lib/ssh.js';
import { sshApp, sshHost, virshExchanges, virshLine } from './lib/sshbot.js';

const TITLE = 'Fan-out across 16 hosts';
const BENCH_ENV = join(E2E_ENV, '..', 'bench-env.json');

const METHOD = [
  `16 sshd instances on 127.0.0.1 (scripts/setup-bench.sh; ports in ${BENCH_ENV}), one virtbot host each, every host's URI test:///default (each SSH session runs its own virsh on libvirt's test driver, one VM).`,
  'virtbot: `createApp` with the 16 hosts, `vm list` (every host) through the whole pipeline, warm (all 16 sessions open); reference: `createApp` with one of those hosts, `vm list`.',
  'Floor: the virsh commands virtbot issued for one host, typed into 16 persistent `ssh host virsh` shells at once (and, for scale, into one).',
];

function hostName(i: number): string {
  return `h${String(i + 1).padStart(2, '0')}`;
}

export async function fanout(ctx: BenchContext): Promise<Section> {
  const env = await loadE2eEnv();
  if (typeof env === 'string') return skipped(4, TITLE, env, METHOD);
  if (!existsSync(BENCH_ENV))
    return skipped(4, TITLE, `no ${BENCH_ENV}: run scripts/setup-bench.sh as root`, METHOD);
  const bench = JSON.parse(await readFile(BENCH_ENV, 'utf8')) as {
    ports: number[];
    uri: string;
    knownHosts: string;
  };
  if (bench.ports.length < 16)
    return skipped(4, TITLE, `${BENCH_ENV} lists ${bench.ports.length} ports, 16 are needed`, METHOD);
  const ports = bench.ports.slice(0, 16);
  const dir = await diskTmpDir('virtbot-bench-fanout-');
  const bots: Bot[] = [];
  const shells: PersistentVirsh[] = [];
  const { key, dispose } = await clientKey(env);
  try {
    const many = await sshApp(
      join(dir, 'many'),
      ports.map((p, i) => sshHost(hostName(i), bench.uri, env, p)),
    );
    if (typeof many === 'string') return skipped(4, TITLE, many, METHOD);
    bots.push(many);
    const one = await sshApp(join(dir, 'one'), [sshHost(hostName(0), bench.uri, env, ports[0])]);
    if (typeof one === 'string') return skipped(4, TITLE, one, METHOD);
    bots.push(one);

    ctx.log('opening 16 sessions');
    await send(many, 'vm list', /on 16 hosts/);
    await send(one, 'vm list', /on h01/);
    // One line per exchange: a batch's commands joined with virsh's own ';' (one round trip, as virtbot's).
    const exchanges = await virshExchanges(one, hostName(0), () => send(one, 'vm list'));
    const issued = exchanges.flat();
    const lines = exchanges.map((e) => e.map(virshLine).join(' ; '));
    for (const port of ports) {
      const shell = PersistentVirsh.overSsh(
        { host: env.ssh.host, port, user: env.ssh.user, key, knownHosts: bench.knownHosts },
        bench.uri,
      );
      await shell.start();
      shells.push(shell);
    }
    const typed = async (list: PersistentVirsh[]) => {
      const t0 = now();
      await Promise.all(
        list.map(async (s) => {
          for (const l of lines) await s.run(l);
        }),
      );
      return now() - t0;
    };
    const timedSend = (bot: Bot) => async () => {
      const t0 = now();
      await send(bot, 'vm list');
      return now() - t0;
    };
    const rounds = ctx.quick ? 5 : 15;
    const res = await interleaved(rounds, [
      { name: 'many', run: timedSend(many) },
      { name: 'one', run: timedSend(one) },
      { name: 'floorMany', run: () => typed(shells) },
      { name: 'floorOne', run: () => typed(shells.slice(0, 1)) },
    ]);
    const m = median(res.get('many')!);
    const o = median(res.get('one')!);
    const fm = median(res.get('floorMany')!);
    const fo = median(res.get('floorOne')!);
    const figures: Figure[] = [
      {
        label: '`vm list` across 16 hosts, through the pipeline',
        value: m,
        unit: 'ms',
        runs: rounds,
        reference: { label: '`vm list` on one host', value: o, unit: 'ms' },
        ratio: `${times(m / o)} one host`,
        target: '≤ 1.5× one host',
        met: m / o <= 1.5,
      },
      {
        label: `floor: the same ${issued.length} virsh commands (${lines.length} round trip${lines.length === 1 ? '' : 's'}) in 16 persistent virsh-over-SSH shells at once`,
        value: fm,
        unit: 'ms',
        runs: rounds,
        reference: { label: 'in one shell', value: fo, unit: 'ms' },
        ratio: `${times(fm / fo)} one shell`,
      },
      {
        label: '`vm list` across 16 hosts vs the 16-shell floor',
        value: m,
        unit: 'ms',
        runs: rounds,
        reference: { label: '16 shells at once', value: fm, unit: 'ms' },
        ratio: `${times(m / fm)} the floor`,
      },
    ];
    const notes: string[] = [
      `Per host, \`vm list\` issued ${issued.length} virsh commands: ${issued.map((c) => c.command).join(', ')}.`,
    ];
    if (m / o > 1.5) {
      notes.push(
        m / fm > 3
          ? `\`vm list\` takes ${times(m / fm)} the 16-shell floor although it asks every host at once: the rest is virtbot's own work per host (parsing, the pipeline's record of 16 hosts' lines) competing for this machine's ${cpus().length} cores with 16 sshd and 16 virsh.`
          : `\`vm list\` is within ${times(m / fm)} of the 16-shell floor: the hosts are answered about as fast as this machine allows.`,
      );
      if (fm / fo > 1.5)
        notes.push(
          `The floor itself is ${times(fm / fo)} one shell: this machine has ${cpus().length} cores for 16 sshd + 16 virsh answering at once, so ≤ 1.5× is out of reach here whatever virtbot does; on a machine with ≥ 16 idle cores (or real hosts, each answering on its own CPU) the floor would be near 1×.`,
        );
    }
    return { id: 4, title: TITLE, status: 'ran', figures, method: METHOD, notes };
  } finally {
    await Promise.allSettled(shells.map((s) => s.close()));
    await Promise.allSettled(bots.map((b) => b.close()));
    await dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
