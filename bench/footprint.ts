/**
 * 5. Footprint: resident memory of `virtbot run` idle with an IRC network (ngircd, from the test
 * harness) and a Discord server (the fake gateway + REST, from the test harness) connected, and
 * its start-up time to ready (both transports connected). Side by side with a Node process that
 * only loads the same two chat client libraries.
 */

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeDiscord } from '../test/harness/fake-discord.js';
import { Ngircd } from '../test/harness/ngircd.js';
import { capture, diskTmpDir, interleaved, median, now, rssOf, runChild, sleep } from './lib/measure.js';
import { type BenchContext, type Figure, fmt, type Section, skipped, times } from './lib/report.js';

const TITLE = 'Footprint of `virtbot run`';

const METHOD = [
  'ngircd on 127.0.0.1 (test/harness/ngircd.ts) and the fake Discord gateway + REST on 127.0.0.1 (test/harness/fake-discord.ts); a config with one IRC network (one channel) and one Discord server (its `api` pointing at the fake), host `test:///default`.',
  '`node bin/virtbot.js run --config FILE` spawned; ready = both transports logged `connected` (start-up time is from spawn to the second of those lines). Then idle; RSS is VmRSS from /proc after the idle period; peak is VmHWM.',
  'Reference, interleaved with it: a Node process that imports discord.js and irc-framework and exits (the libraries alone), timed from spawn to exit, its peak RSS from GNU time.',
];

interface RunResult {
  readyMs: number;
  rssKiB: number;
  hwmKiB: number;
}

async function hwmOf(pid: number): Promise<number | undefined> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function runOnce(root: string, config: string, idleMs: number): Promise<RunResult> {
  const t0 = now();
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'virtbot.js'),
      'run',
      '--config',
      config,
      // virtbot refuses root; the benchmark's loopback-only test setup may run as root.
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    {
      cwd: root,
      env: { ...process.env, VIRTBOT_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  const connected = new Set<string>();
  let readyMs: number | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not ready after 30 s; log: ${log.slice(-600)}`)),
      30_000,
    );
    const onData = (chunk: string) => {
      log += chunk;
      for (const line of chunk.split('\n')) {
        if (!line.includes('"connected"')) continue;
        const transport = /"transport":"([^"]+)"/.exec(line)?.[1];
        if (transport) connected.add(transport);
      }
      if (connected.size >= 2 && readyMs === undefined) {
        readyMs = now() - t0;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`virtbot run exited (${code}) before ready: ${log.slice(-600)}`));
    });
  });
  try {
    await ready;
    await sleep(idleMs);
    const rss = await rssOf(child.pid!);
    const hwm = await hwmOf(child.pid!);
    if (rss === undefined || hwm === undefined) throw new Error('cannot read /proc for virtbot run');
    return { readyMs: readyMs!, rssKiB: rss, hwmKiB: hwm };
  } finally {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export async function footprint(ctx: BenchContext): Promise<Section> {
  if ((await capture('sh', ['-c', 'command -v ngircd'])) === undefined)
    return skipped(5, TITLE, 'ngircd is not installed (run scripts/setup-irc.sh)', METHOD);
  const wiring = ['service.js', 'transports/index.js']
    .map((f) => join(ctx.root, 'dist', 'src', f))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  if (!/DiscordTransport/.test(wiring))
    return skipped(
      5,
      TITLE,
      'src/service.ts does not start Discord transports yet (`virtbot run` serves IRC only)',
      METHOD,
    );
  const dir = await diskTmpDir('virtbot-bench-footprint-');
  const ircd = new Ngircd();
  const discord = new FakeDiscord();
  try {
    await ircd.start();
    await discord.start();
    const config = join(dir, 'virtbot.yaml');
    // JSON is YAML.
    await writeFile(
      config,
      JSON.stringify(
        {
          bot: { nick: 'virtbot', prefix: '!', dataDir: join(dir, 'data') },
          hosts: [{ name: 'test', uri: 'test:///default' }],
          irc: [
            {
              name: 'bench',
              host: ircd.host,
              port: ircd.port,
              tls: false,
              nick: 'virtbot',
              channels: ['#bench'],
            },
          ],
          discord: [
            {
              name: 'fake',
              token: { value: 'fake-token', insecure: true },
              guildId: discord.guildId,
              api: discord.api,
            },
          ],
        },
        null,
        2,
      ),
    );
    const idleMs = ctx.quick ? 2000 : 5000;
    const rounds = ctx.quick ? 2 : 3;
    const libsOnly = "await import('discord.js'); await import('irc-framework');";
    const res = await interleaved<RunResult>(rounds, [
      { name: 'virtbot', run: () => runOnce(ctx.root, config, idleMs) },
      {
        name: 'libs',
        run: async () => {
          const r = await runChild(process.execPath, ['--input-type=module', '-e', libsOnly], {
            cwd: ctx.root,
          });
          if (r.code !== 0) throw new Error(`loading the libraries failed: ${r.stderr.slice(0, 300)}`);
          return { readyMs: r.wallMs, rssKiB: r.maxRssKiB ?? Number.NaN, hwmKiB: r.maxRssKiB ?? Number.NaN };
        },
      },
    ]);
    const v = res.get('virtbot')!;
    const l = res.get('libs')!;
    const rss = median(v.map((r) => r.rssKiB)) / 1024;
    const hwm = median(v.map((r) => r.hwmKiB)) / 1024;
    const ready = median(v.map((r) => r.readyMs));
    const libRss = median(l.map((r) => r.rssKiB)) / 1024;
    const libMs = median(l.map((r) => r.readyMs));
    const figures: Figure[] = [
      {
        label: `RSS of \`virtbot run\`, idle ${idleMs / 1000} s with IRC + Discord connected`,
        value: rss,
        unit: 'MiB',
        runs: rounds,
        reference: { label: 'Node + discord.js + irc-framework loaded (peak)', value: libRss, unit: 'MiB' },
        ratio: `${times(rss / libRss)} the libraries alone (+${fmt(rss - libRss)} MiB)`,
        target: '< 120 MB',
        met: rss * 1.048576 < 120,
      },
      {
        label: 'peak RSS (VmHWM) of `virtbot run` up to then',
        value: hwm,
        unit: 'MiB',
        runs: rounds,
        reference: { label: 'the libraries alone', value: libRss, unit: 'MiB' },
        ratio: `${times(hwm / libRss)} the libraries alone`,
      },
      {
        label: 'start-up to ready (spawn → IRC and Discord both connected)',
        value: ready,
        unit: 'ms',
        runs: rounds,
        reference: { label: 'Node loading the two libraries and exiting', value: libMs, unit: 'ms' },
        ratio: `${times(ready / libMs)} the libraries' load time`,
        target: '< 1 s',
        met: ready < 1000,
      },
    ];
    const notes: string[] = [];
    if (ready >= 1000)
      notes.push(
        `Start-up of ${fmt(ready)} ms: loading the libraries alone takes ${fmt(libMs)} ms on this machine; the rest is virtbot's own imports, the config, the IRC registration and the Discord gateway handshake (READY, GUILD_CREATE, slash-command registration).`,
      );
    return { id: 5, title: TITLE, status: 'ran', figures, method: METHOD, notes };
  } finally {
    await discord.stop().catch(() => undefined);
    await ircd.dispose().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
