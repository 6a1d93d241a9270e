/**
 * 12. Failover: two `virtbot run` processes on one private PostgreSQL and one ngircd; the one
 * holding the IRC connection is SIGKILLed, and a person keeps asking (`!vm info …` every 50 ms)
 * until the first answer, which comes from the other instance. The figure is SIGKILL → that
 * first answer, median of 5, for the default lease settings and for short ones.
 */
import { rm } from 'node:fs/promises';
import { HaCluster } from '../test/harness/ha-cluster.js';
import { IrcPerson } from '../test/harness/irc-person.js';
import { Ngircd } from '../test/harness/ngircd.js';
import { PrivatePostgres, postgresSkipReason } from '../test/harness/postgres.js';
import { capture, diskTmpDir, median, now, sleep } from './lib/measure.js';
import { type BenchContext, type Figure, fmt, type Section, skipped } from './lib/report.js';

const ID = 12;
const TITLE = 'Failover: SIGKILL → first answer from the other instance';
const CHANNEL = '#bench';
const NICK = 'failbot';
const GOAL_MS = 10_000;

const METHOD = [
  'A private PostgreSQL (test/harness/postgres.ts) and ngircd (test/harness/ngircd.ts) on 127.0.0.1; two `node bin/virtbot.js run` processes with `store.postgres` on the same database, host `test:///default`.',
  'Each run: the instance holding the lease on the IRC connection is SIGKILLed; a person in the channel says `!vm info ghost-N` every 50 ms from that moment; the time is from the kill to the first answer (from the other instance). The killed one is started again (it becomes the follower) before the next run.',
  'A lease lives 4 × leaseCheckMs; the follower tries every leaseCheckMs; so the expected bound is about 5 × leaseCheckMs plus connecting and joining.',
];

async function failoverOnce(cluster: HaCluster, person: IrcPerson, run: number): Promise<number> {
  const holder = await cluster.waitForHolder(30_000);
  // The holder is in the channel and answering before it is killed (asked again until it is).
  const warm = person.received.length;
  const warmed = person.waitFor((r) => r.from === NICK && r.text.includes(`warm-${run}`), {
    from: warm,
    ms: 30_000,
  });
  let ready = false;
  void warmed.then(() => {
    ready = true;
  });
  while (!ready) {
    person.say(CHANNEL, `!vm info warm-${run}`);
    await Promise.race([warmed, sleep(500)]);
  }
  await sleep(200); // the rest of the warm-up answers, so they are not counted below
  const from = person.received.length;
  const killedAt = now();
  await cluster.kill(holder);
  let n = 0;
  let answered: number | undefined;
  const waiting = person
    .waitFor((r) => r.from === NICK && /ghost-f\d+-\d+/.test(r.text), { from, ms: 60_000 })
    .then(() => {
      answered = now();
    });
  while (answered === undefined) {
    person.say(CHANNEL, `!vm info ghost-f${run}-${++n}`);
    await Promise.race([waiting, sleep(50)]);
  }
  await waiting;
  // Back to two instances: the killed one returns as the follower.
  await cluster.ready(await cluster.spawn(`${holder.name.replace(/-r\d+$/, '')}-r${run}`));
  return answered - killedAt;
}

async function measure(ctx: BenchContext, leaseCheckMs: number, runs: number): Promise<number[]> {
  const dir = await diskTmpDir('virtbot-bench-failover-');
  const server = new PrivatePostgres();
  const ircd = new Ngircd();
  let cluster: HaCluster | undefined;
  let person: IrcPerson | undefined;
  try {
    await Promise.all([server.start(), ircd.start()]);
    cluster = new HaCluster({
      root: ctx.root,
      dir,
      pgUrl: server.url,
      ircPort: ircd.port,
      channel: CHANNEL,
      nick: NICK,
      leaseCheckMs,
    });
    person = await IrcPerson.connect({ host: ircd.host, port: ircd.port, nick: 'asker' });
    await person.join(CHANNEL);
    await Promise.all(['fa', 'fb'].map(async (name) => cluster!.ready(await cluster!.spawn(name))));
    const out: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const ms = await failoverOnce(cluster, person, run);
      ctx.log(`leaseCheckMs ${leaseCheckMs}: run ${run}: ${fmt(ms, 'ms')}`);
      out.push(ms);
    }
    return out;
  } finally {
    await person?.quit().catch(() => undefined);
    await cluster?.stop();
    await Promise.allSettled([ircd.dispose(), server.dispose()]);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function failover(ctx: BenchContext): Promise<Section> {
  const pgSkip = postgresSkipReason();
  if (pgSkip) return skipped(ID, TITLE, pgSkip, METHOD);
  if ((await capture('sh', ['-c', 'command -v ngircd'])) === undefined)
    return skipped(ID, TITLE, 'ngircd is not installed (run scripts/setup-irc.sh)', METHOD);
  const runs = ctx.quick ? 3 : 5;
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const leaseCheckMs of ctx.quick ? [250] : [1000, 250]) {
    const values = await measure(ctx, leaseCheckMs, runs);
    const value = median(values);
    figures.push({
      label: `SIGKILL → first answer, leaseCheckMs ${leaseCheckMs} (lease ${leaseCheckMs * 4} ms)${leaseCheckMs === 1000 ? ', the default' : ''}`,
      value,
      unit: 'ms',
      runs,
      target: `≤ ${fmt(GOAL_MS, 'ms')}`,
      met: value <= GOAL_MS,
    });
    notes.push(`leaseCheckMs ${leaseCheckMs}: runs ${values.map((v) => fmt(v, 'ms')).join(', ')}`);
  }
  return { id: ID, title: TITLE, status: 'ran', figures, method: METHOD, notes };
}
