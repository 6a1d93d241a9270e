/**
 * `virtbot run` and its configuration: reload() applies a changed file (channels joined and
 * parted, a network reconnected when its connection settings change, users and roles handed to
 * the bot) or refuses it with the reason; and the real process, on ngircd, reloads on SIGHUP
 * (instead of dying) and says QUIT on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { type Service, startService } from '../../src/service.js';
import type { IrcTransport } from '../../src/transports/irc.js';
import { IrcPerson } from '../harness/irc-person.js';
import { Ngircd } from '../harness/ngircd.js';
import { missingPrograms, waitForEvent, waitForOutput } from '../harness/util.js';

const missing = missingPrograms('ngircd', 'virsh');
const skipReason = missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : '';

describe.skipIf(missing.length > 0)(`configuration reload${skipReason}`, () => {
  const ircd = new Ngircd();
  let dir: string;
  let file: string;
  let bob: IrcPerson;

  const configOf = (
    extra: { channels?: string[]; anonymous?: string[]; port?: number; hosts?: unknown[] } = {},
  ) => ({
    bot: { nick: 'virtbot', dataDir: dir },
    hosts: extra.hosts ?? [{ name: 'test', uri: 'test:///default' }],
    irc: [
      {
        name: 'testnet',
        host: ircd.host,
        port: extra.port ?? ircd.port,
        tls: false,
        channels: extra.channels ?? ['#one'],
        flood: { burst: 10, rate: 100 },
        reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      },
    ],
    roles: { viewer: { permissions: ['vm.list'] } },
    // Granting anonymous senders a role must be marked deliberate, or the config is refused.
    anonymous: { roles: extra.anonymous ?? [], ...(extra.anonymous?.length ? { deliberate: true } : {}) },
  });
  const write = (config: unknown) => writeFile(file, stringify(config));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-reload-'));
    file = join(dir, 'virtbot.yaml');
    await ircd.start();
    bob = await IrcPerson.connect({ host: ircd.host, port: ircd.port, nick: 'bob' });
    await Promise.all([bob.join('#one'), bob.join('#two')]);
  }, 20_000);

  afterAll(async () => {
    await bob?.quit();
    await ircd.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('reload()', () => {
    let service: Service;
    let irc: IrcTransport;

    beforeAll(async () => {
      await write(configOf());
      service = await startService(await loadConfigFile(file), pino({ level: 'silent' }), {
        configFile: file,
      });
      irc = service.transports[0] as IrcTransport;
      if (!irc.joinedChannels.includes('#one')) await waitForEvent(irc, 'joined', 5000);
    }, 20_000);

    afterAll(async () => {
      await service?.stop();
    });

    async function ask(text: string, match: RegExp): Promise<string> {
      const from = bob.received.length;
      bob.say('#one', text);
      const [got] = await bob.waitFor((r) => match.test(r.text), { from, ms: 10_000 });
      return got!.text;
    }

    test('channels are joined and parted, and the new roles apply to the next command', async () => {
      expect(await ask('!vm list', /denied|VM/)).toMatch(/denied/);
      await write(configOf({ channels: ['#one', '#two'], anonymous: ['viewer'] }));
      const joined = waitForEvent<[string]>(irc, 'joined', 5000, (c) => c === '#two');
      const result = await service.reload();
      await joined;
      expect(result).toMatchObject({ applied: true });
      expect(result.changes).toContain('irc:testnet: joining #two');
      expect(await ask('!vm list', /denied|VM/)).toMatch(/VM on test/);

      await write(configOf({ channels: ['#one'], anonymous: ['viewer'] }));
      const left = waitForEvent<[string]>(irc, 'left', 5000, (c) => c === '#two');
      expect((await service.reload()).changes).toContain('irc:testnet: leaving #two');
      await left;
    });

    test('a file that does not load, or changes that need a restart, are refused with the reason; nothing changes', async () => {
      await writeFile(file, 'irc: [ {');
      const broken = await service.reload();
      expect(broken).toMatchObject({ applied: false, reason: expect.stringMatching(/YAML syntax/) });
      await write(configOf({ channels: ['#one'], hosts: [{ name: 'other', uri: 'test:///default' }] }));
      const restart = await service.reload();
      expect(restart).toMatchObject({ applied: false, reason: 'hosts change only with a restart' });
      expect(irc.connected).toBe(true);
      expect(await ask('!vm list', /denied|VM/)).toMatch(/VM on test/);
    });

    test('a changed connection setting reconnects that network', async () => {
      await write({
        ...configOf({ channels: ['#one'], anonymous: ['viewer'] }),
        irc: [{ ...configOf().irc[0], nick: 'virtbot2' }],
      });
      const reconnected = waitForEvent<[string]>(irc, 'connected', 10_000, (nick) => nick === 'virtbot2');
      expect((await service.reload()).changes).toContain('irc:testnet: connection settings: reconnecting');
      await reconnected;
    });
  });

  test('the real process: SIGHUP reloads (it joins the new channel), SIGTERM says QUIT', async () => {
    await write({ ...configOf({ channels: ['#one'] }), bot: { nick: 'procbot', dataDir: dir } });
    const child: ChildProcess = spawn(
      process.execPath,
      ['bin/virtbot.js', 'run', '--config', file, '--allow-root'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, VIRTBOT_LOG_LEVEL: 'info' },
      },
    );
    try {
      const joinedOne = waitForEvent(
        bob.client,
        'join',
        15_000,
        (e: unknown) => (e as { nick: string; channel: string }).nick === 'procbot',
      );
      await joinedOne;
      await write({ ...configOf({ channels: ['#one', '#two'] }), bot: { nick: 'procbot', dataDir: dir } });
      const joinedTwo = waitForEvent(bob.client, 'join', 10_000, (e: unknown) => {
        const j = e as { nick: string; channel: string };
        return j.nick === 'procbot' && j.channel === '#two';
      });
      const reloaded = waitForOutput(child, /configuration reloaded/, 10_000, 'virtbot reload');
      child.kill('SIGHUP');
      await Promise.all([joinedTwo, reloaded]);
      expect(child.exitCode).toBeNull();
      const quit = waitForEvent(
        bob.client,
        'quit',
        10_000,
        (e: unknown) => (e as { nick: string }).nick === 'procbot',
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const [q] = await quit;
      expect((q as { message: string }).message).toMatch(/virtbot stopping/);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 40_000);
});
