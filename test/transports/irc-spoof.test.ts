/**
 * Identity without the IRCv3 account-tag (InspIRCd + Atheme with ircv3_accounttag unloaded),
 * through the whole bot: a real Bot from the config, the IRC transport, the pipeline, libvirt's
 * test driver. dave (an operator) is identified, then quits; mallory, not logged in, takes the
 * nick `dave`. Nothing dave's account proved may carry over to her: not out of sight (PM only),
 * and not in sight (a shared channel, where dave's QUIT was seen).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { resolveIdentity } from '../../src/auth/identity.js';
import { validateConfig } from '../../src/config/load.js';
import { type Service, startService } from '../../src/service.js';
import type { IrcTransport } from '../../src/transports/irc.js';
import { InspircdAtheme } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { missingPrograms, waitForEvent } from '../harness/util.js';

const missing = missingPrograms('inspircd', 'atheme-services', 'virsh');
const skipReason = missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : '';

describe.skipIf(missing.length > 0)(`IRC identity spoof through a stale account${skipReason}`, () => {
  const server = new InspircdAtheme({ accountTag: false });
  let dir: string;
  let service: Service;
  let irc: IrcTransport;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-spoof-'));
    await server.start();
    const config = validateConfig({
      bot: { nick: 'virtbot', dataDir: dir },
      hosts: [{ name: 'test', uri: 'test:///default' }],
      irc: [
        {
          name: 'testnet',
          host: server.host,
          port: server.port,
          tls: false,
          channels: ['#ops'],
          flood: { burst: 10, rate: 100 },
        },
      ],
      users: { dave: { irc: { testnet: 'dave' }, roles: ['operator'] } },
      roles: { operator: { permissions: ['vm.*'] } },
    });
    service = await startService(config, pino({ level: 'silent' }));
    irc = service.transports[0] as IrcTransport;
    if (!irc.connected) await waitForEvent(irc, 'connected', 10_000);
  }, 30_000);

  afterAll(async () => {
    await service?.stop();
    await server.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function ask(person: IrcPerson, text: string, match: RegExp): Promise<string> {
    const from = person.received.length;
    person.say('virtbot', text);
    const [reply] = await person.waitFor((r) => r.from === 'virtbot' && match.test(r.text), {
      from,
      ms: 10_000,
    });
    return reply!.text;
  }

  async function audit(): Promise<Array<Record<string, unknown>>> {
    const text = await readFile(join(dir, 'audit.jsonl'), 'utf8').catch(() => '');
    return text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  test('the server offers no account-tag (the case under test)', () => {
    const caps = (irc as unknown as { client: { network: { cap: { enabled: string[] } } } }).client.network
      .cap.enabled;
    expect(caps).not.toContain('account-tag');
    expect(caps).toContain('account-notify');
  });

  test('out of sight: dave PMs and quits; mallory takes the nick and is nobody', async () => {
    const dave = await IrcPerson.connect({
      host: server.host,
      port: server.port,
      nick: 'dave',
      register: { password: 'davepass123' },
    });
    expect(await ask(dave, 'whoami', /^you are/)).toMatch(
      /you are dave, proven by your IRC services account/,
    );
    await dave.quit();

    const mallory = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'mallory' });
    try {
      await mallory.changeNick('dave');
      expect(await ask(mallory, 'whoami', /^you are/)).toMatch(/^you are not identified/);
      expect(await ask(mallory, 'vm stop test', /denied|destructive/)).toMatch(/denied/);
      const last = (await audit()).at(-1)!;
      expect(last).toMatchObject({ nick: 'dave', user: null, proof: 'anonymous', outcome: 'denied' });
      expect((await audit()).filter((r) => r['user'] === 'dave' && r['path'] === 'vm.stop')).toEqual([]);
    } finally {
      await mallory.quit();
    }
  }, 30_000);

  test('in sight: dave shares #ops, quits; mallory takes the nick and is nobody', async () => {
    const dave = await IrcPerson.connect({
      host: server.host,
      port: server.port,
      nick: 'dave',
      sasl: { account: 'dave', password: 'davepass123' },
    });
    await dave.join('#ops');
    expect(await ask(dave, 'whoami', /^you are/)).toMatch(/you are dave/);
    const quitSeen = waitForEvent(
      (irc as unknown as { client: NodeJS.EventEmitter }).client,
      'quit',
      5000,
      (e: unknown) => (e as { nick: string }).nick === 'dave',
    );
    await dave.quit();
    await quitSeen;
    const mallory = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'mallory' });
    try {
      await mallory.join('#ops');
      await mallory.changeNick('dave');
      expect(await ask(mallory, 'whoami', /^you are/)).toMatch(/^you are not identified/);
      const from = mallory.received.length;
      mallory.say('#ops', '!vm stop test');
      const [reply] = await mallory.waitFor((r) => /denied|destructive/.test(r.text), { from, ms: 10_000 });
      expect(reply!.text).toMatch(/denied/);
    } finally {
      await mallory.quit();
    }
  }, 30_000);

  test('hostmask proofs hold only on the network they are configured for', () => {
    const config = validateConfig({
      hosts: [{ name: 'test', uri: 'test:///default' }],
      users: {
        carol: { hostmasks: { testnet: ['*!*@trusted.example'] }, allowHostmasks: true, roles: ['operator'] },
      },
      roles: { operator: { permissions: ['vm.*'] } },
    });
    const sender = { nick: 'carol', hostmask: 'carol!c@trusted.example' };
    const on = (network: string) =>
      resolveIdentity(config, { transport: 'irc', network, channel: '#ops', private: false }, sender);
    expect(on('testnet')).toMatchObject({ user: 'carol', proof: 'hostmask' });
    expect(on('othernet')).toMatchObject({ user: null, proof: 'anonymous' });
    expect(() =>
      validateConfig({
        hosts: [{ name: 'test', uri: 'test:///default' }],
        users: { carol: { hostmasks: ['*!*@trusted.example'], allowHostmasks: true } },
      }),
    ).toThrow(/hostmasks are per IRC network/);
  });
});
