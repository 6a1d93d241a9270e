// Two virtbot instances, one voice: a private PostgreSQL and a private ngircd on 127.0.0.1, and
// two `virtbot run` processes on them with `store.postgres` against libvirt's test driver
// (test:///default). Started by scripts/demo-ha.sh (which builds first); Ctrl-C stops it all.
// The servers and every file live in one fresh temporary directory, removed at the end, so
// running it again starts clean.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ngircd } from '../dist/test/harness/ngircd.js';
import { PrivatePostgres } from '../dist/test/harness/postgres.js';

const root = resolve(import.meta.dirname, '..');
const CHANNEL = '#demo';
const dir = await mkdtemp(join(tmpdir(), 'virtbot-demo-ha-'));
const pg = new PrivatePostgres();
const ircd = new Ngircd();
const children = [];
let stopping = false;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping: virtbot instances, ngircd, PostgreSQL …\n');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  await Promise.allSettled([ircd.dispose(), pg.dispose()]);
  await rm(dir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  await Promise.all([pg.start(), ircd.start()]);
  for (const name of ['one', 'two']) {
    const config = {
      bot: { nick: 'virtbot', prefix: '!', dataDir: join(dir, name), minutesDir: join(dir, 'minutes') },
      hosts: [{ name: 'test', uri: 'test:///default' }],
      irc: [{ name: 'demo', host: '127.0.0.1', port: ircd.port, tls: false, channels: [CHANNEL] }],
      roles: { demo: { permissions: ['*'], description: 'everything (demo only)' } },
      // Everybody may do everything, on purpose: the demo touches only libvirt's test driver.
      anonymous: { roles: ['demo'], deliberate: true },
      store: { postgres: { url: { value: pg.url, insecure: true }, instance: `demo-${name}` } },
    };
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, JSON.stringify(config, null, 2)); // JSON is YAML
    const log = createWriteStream(join(dir, `${name}.log`));
    const child = spawn(
      process.execPath,
      [join(root, 'bin', 'virtbot.js'), 'run', '--config', file, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIRTBOT_LOG_LEVEL: 'info' } },
    );
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.on('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`instance ${name} (pid ${child.pid}) exited (${signal ?? code})\n`);
    });
    children.push(child);
  }
  process.stdout.write(
    [
      '',
      'virtbot: two instances, one voice',
      `  PostgreSQL  ${pg.url}`,
      `  IRC         127.0.0.1:${ircd.port} (ngircd), channel ${CHANNEL}`,
      `  instances   demo-one (pid ${children[0].pid}), demo-two (pid ${children[1].pid}); logs in ${dir}/{one,two}.log`,
      '',
      `Connect an IRC client to 127.0.0.1 port ${ircd.port}, join ${CHANNEL}, and say '!vm list' or '#startmeeting'.`,
      `One instance holds the connection; kill it (kill -9 PID) and the other takes over within a few seconds.`,
      `Who holds it: psql '${pg.url}' -c 'SELECT name, holder, epoch, expires_at FROM leases'`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (error) {
  process.stderr.write(`virtbot demo-ha: ${error instanceof Error ? error.message : String(error)}\n`);
  await stop(1);
}
