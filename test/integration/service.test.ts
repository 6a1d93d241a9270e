/**
 * `virtbot run` end to end: the real pipeline, libvirt's test driver, a real IRC server (ngircd)
 * and the real discord.js client against the fake gateway — all started from one config.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { type Service, startService } from '../../src/service.js';
import { FakeDiscord, type FakeUser } from '../harness/fake-discord.js';
import { IrcPerson } from '../harness/irc-person.js';
import { Ngircd } from '../harness/ngircd.js';
import { missingPrograms } from '../harness/util.js';

const missing = missingPrograms('ngircd', 'virsh');
const skipReason = missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : '';
const CHANNEL = '#ops';
const alice: FakeUser = { id: '300000000000000001', username: 'alice' };
const mallory: FakeUser = { id: '300000000000000066', username: 'mallory' };

describe.skipIf(missing.length > 0)(`virtbot run: IRC and Discord side by side${skipReason}`, () => {
  const ircd = new Ngircd();
  const discord = new FakeDiscord({
    members: [
      { user: alice, roles: [] },
      { user: mallory, roles: [] },
    ],
  });
  let dir: string;
  let service: Service;
  let bob: IrcPerson;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-service-'));
    await Promise.all([ircd.start(), discord.start()]);
    const config = validateConfig({
      bot: { nick: 'virtbot', prefix: '!', dataDir: dir, minutesDir: join(dir, 'minutes') },
      hosts: [{ name: 'test', uri: 'test:///default' }],
      irc: [
        {
          name: 'testnet',
          host: ircd.host,
          port: ircd.port,
          tls: false,
          channels: [CHANNEL],
          flood: { burst: 10, rate: 100 },
        },
      ],
      discord: [
        {
          name: 'team',
          token: { value: 'fake-token', insecure: true },
          guildId: discord.guildId,
          api: discord.api,
        },
      ],
      users: { alice: { discord: [alice.id], roles: ['ops'] } },
      roles: { ops: { permissions: ['*'] }, viewer: { permissions: ['vm.list', 'vm.info'] } },
      // ngircd has no services accounts: IRC people here are anonymous viewers.
      anonymous: { roles: ['viewer'] },
    });
    [service, bob] = await Promise.all([
      startService(config, pino({ level: 'silent' })),
      IrcPerson.connect({ host: ircd.host, port: ircd.port, nick: 'bob' }),
    ]);
    await bob.join(CHANNEL);
  }, 30_000);

  afterAll(async () => {
    await bob?.quit();
    await service?.stop();
    await Promise.allSettled([ircd.dispose(), discord.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function ircAsk(text: string, match: RegExp) {
    const from = bob.received.length;
    bob.say(CHANNEL, text);
    const [got] = await bob.waitFor((r) => match.test(r.text), { from, ms: 10_000 });
    return got!;
  }

  test('an IRC command runs through the pipeline on libvirt and is audited', async () => {
    const got = await ircAsk('!vm list', /VM on test/);
    expect(got.target).toBe(CHANNEL);
    expect(got.text).toContain('test (running');
  });

  test('an anonymous IRC user is denied a command beyond the anonymous role, privately', async () => {
    const got = await ircAsk('!vm stop test', /denied/);
    expect(got.command).toBe('NOTICE');
    expect(got.text).toContain('no role of bob (not identified) grants vm.stop');
  });

  test('a meeting over IRC records the operations said during it', async () => {
    await ircAsk('#startmeeting capacity', /Meeting started/);
    await ircAsk('!vm info test', /test on test: running/);
    await ircAsk('#endmeeting', /Meeting ended/);
    const files = await readdir(join(dir, 'minutes'), { recursive: true });
    const text = files.find((f) => String(f).endsWith('.txt') && !String(f).endsWith('.log.txt'));
    const minutes = await readFile(join(dir, 'minutes', String(text)), 'utf8');
    expect(minutes).toContain('bob (unidentified): vm info test → ok');
  });

  test('Discord: slash commands are generated from the declarations and a mapped user is identified', async () => {
    const put = discord.requests.find((r) => r.method === 'PUT' && r.path.includes('/commands'));
    expect(put).toBeDefined();
    const names = (put!.body as { name: string }[]).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['vm', 'host', 'help', 'meeting']));

    const from = discord.requests.length;
    discord.say(alice, 'vm info test', { mentionBot: true });
    const post = await discord.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${discord.channels[0]!.id}/messages`,
      10_000,
      from,
    );
    expect((post.body as { content: string }).content).toContain('test on test: running');
    const audit = (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.at(-1)).toMatchObject({
      transport: 'discord',
      user: 'alice',
      proof: 'discord-id',
      outcome: 'ok',
    });
  });

  test('Discord: an unmapped user is denied, whatever their name', async () => {
    const from = discord.requests.length;
    discord.say(mallory, 'vm stop test', { mentionBot: true });
    const answer = await discord.waitForRequest(
      (r) => r.method === 'POST' && JSON.stringify(r.body ?? '').includes('denied'),
      10_000,
      from,
    );
    expect(JSON.stringify(answer.body)).toContain('no role of mallory (not identified) grants vm.stop');
  });
});
