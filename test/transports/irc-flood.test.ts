/**
 * Output budgets, fair queueing and channel pacing against a real InspIRCd channel with
 * `+f 10:5` (m_messageflood kicks whoever says 10 lines in 5 seconds there): the whole bot
 * (real Bot, real `help vm`) with the default flood settings, and a transport with the
 * connection's rate limit wide open, so that only the channel pacing stands between it and a kick.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { IrcNetworkSchema } from '../../src/config/sections/transports.js';
import type { InboundMessage } from '../../src/core/types.js';
import { type Service, startService } from '../../src/service.js';
import { IrcTransport } from '../../src/transports/irc.js';
import { InspircdAtheme } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { missingPrograms, waitForEvent } from '../harness/util.js';

const missing = missingPrograms('inspircd', 'atheme-services', 'virsh');
const skipReason = missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : '';
const CHANNEL = '#flood';

describe.skipIf(missing.length > 0)(`a +f 10:5 channel${skipReason}`, () => {
  const server = new InspircdAtheme({ modules: ['messageflood'] });
  const kicks: Array<{ kicked: string; message: string }> = [];
  let dir: string;
  let chanop: IrcPerson;
  let alice: IrcPerson;
  let service: Service;
  let irc: IrcTransport;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-flood-'));
    await server.start();
    const { host, port } = server;
    [chanop, alice] = await Promise.all([
      IrcPerson.connect({ host, port, nick: 'chanop' }),
      IrcPerson.connect({ host, port, nick: 'alice', register: { password: 'alicepass123' } }),
    ]);
    // chanop creates the channel (and so is its operator) and sets the flood limit.
    await chanop.join(CHANNEL);
    const modeSet = waitForEvent(chanop.client, 'mode', 5000, (e: unknown) =>
      JSON.stringify(e).includes('10:5'),
    );
    chanop.client.raw('MODE', CHANNEL, '+f', '10:5');
    await modeSet;
    chanop.client.on('kick', (e: { kicked: string; message: string }) => kicks.push(e));
    await alice.join(CHANNEL);
    const config = validateConfig({
      bot: { nick: 'virtbot', dataDir: dir },
      hosts: [{ name: 'test', uri: 'test:///default' }],
      // Default flood control, pacing and budgets: what a deployment gets.
      irc: [{ name: 'testnet', host, port, tls: false, channels: [CHANNEL] }],
      users: { alice: { irc: { testnet: 'alice' }, roles: [] } },
    });
    service = await startService(config, pino({ level: 'silent' }));
    irc = service.transports[0] as IrcTransport;
    if (!irc.joinedChannels.includes(CHANNEL)) await waitForEvent(irc, 'modes', 10_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([chanop?.quit(), alice?.quit()]);
    await service?.stop();
    await server.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the server enforces it: a person who says 10 lines at once is kicked', async () => {
    const flooder = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'flooder' });
    await flooder.join(CHANNEL);
    const kicked = waitForEvent(chanop.client, 'kick', 5000, (e: unknown) =>
      JSON.stringify(e).includes('flooder'),
    );
    for (let i = 0; i < 10; i++) flooder.say(CHANNEL, `line ${i}`);
    await kicked;
    await flooder.quit();
  });

  test("!help vm ×3 from anonymous people: the bot stays, and alice's !whoami is answered within 5 s", async () => {
    const anons = await Promise.all(
      ['anon1', 'anon2', 'anon3'].map((nick) =>
        IrcPerson.connect({ host: server.host, port: server.port, nick }),
      ),
    );
    try {
      await Promise.all(anons.map((a) => a.join(CHANNEL)));
      const kicksBefore = kicks.length;
      const from = alice.received.length;
      for (const anon of anons) anon.say(CHANNEL, '!help vm');
      alice.say(CHANNEL, '!whoami');
      // Answered before a deadline (not a measurement): the anonymous help waits its turn.
      await alice.waitFor((r) => r.target === CHANNEL && /you are alice/.test(r.text), { from, ms: 5000 });
      // Each anonymous asker gets a short answer in the channel and the rest privately.
      for (const anon of anons) {
        const [note] = await anon.waitFor(
          (r) => r.target === CHANNEL && r.text.startsWith(`${anon.nick}: (`),
          { ms: 20_000 },
        );
        expect(note!.text).toMatch(/^anon\d: \(\d+ more lines sent to you privately\)$/);
        await anon.waitFor((r) => r.command === 'NOTICE' && r.target === anon.nick, { ms: 20_000 });
      }
      const inChannel = chanop.received.filter((r) => r.from === 'virtbot' && r.target === CHANNEL);
      expect(inChannel.length).toBeLessThanOrEqual(3 * 2 + 1);
      // A round trip after the last channel line: a kick would have come before the answer.
      const whois = await new Promise<Record<string, unknown>>((resolve) =>
        chanop.client.whois('virtbot', (w) => resolve(w)),
      );
      expect(String(whois['channels'] ?? '')).toContain(CHANNEL);
      expect(kicks.slice(kicksBefore)).toEqual([]);
    } finally {
      await Promise.all(anons.map((a) => a.quit()));
    }
  }, 60_000);

  test('with the connection rate wide open, the channel pacing alone keeps 13 quick lines under +f', async () => {
    const seen: InboundMessage[] = [];
    const fast = new IrcTransport(
      IrcNetworkSchema.parse({
        name: 'testnet',
        host: server.host,
        port: server.port,
        tls: false,
        nick: 'fastbot',
        channels: [CHANNEL],
        flood: { burst: 100, rate: 1000 },
      }),
      async (msg) => {
        seen.push(msg);
        return msg.addressed && msg.sender.nick === 'chanop'
          ? [{ text: `answer ${msg.text}`, kind: 'reply' }]
          : [];
      },
    );
    const modes = waitForEvent(fast, 'modes', 10_000);
    await fast.start();
    try {
      await modes;
      const kicksBefore = kicks.length;
      const from = chanop.received.length;
      // chanop is exempt from nothing but is an operator; it says each line once, well under +f itself.
      for (let i = 0; i < 9; i++) chanop.say(CHANNEL, `fastbot: n${i}`);
      const got = await chanop.waitFor((r) => r.from === 'fastbot' && r.text.startsWith('answer'), {
        from,
        count: 9,
        ms: 20_000,
      });
      expect(got.map((r) => r.text)).toEqual(Array.from({ length: 9 }, (_, i) => `answer n${i}`));
      fast.say(CHANNEL, Array.from({ length: 11 }, (_, i) => `extra ${i}`).join('\n'));
      // Said outside a reply, in a channel: within the channel budget (4 lines), the rest left out.
      const extra = await chanop.waitFor((r) => r.from === 'fastbot' && !r.text.startsWith('answer'), {
        from,
        count: 4,
        ms: 20_000,
      });
      expect(extra.map((r) => r.text)).toEqual([
        'extra 0',
        'extra 1',
        'extra 2',
        expect.stringMatching(/^… 8 more lines not shown/),
      ]);
      const whois = await new Promise<Record<string, unknown>>((resolve) =>
        chanop.client.whois('fastbot', (w) => resolve(w)),
      );
      expect(String(whois['channels'] ?? '')).toContain(CHANNEL);
      expect(kicks.slice(kicksBefore)).toEqual([]);
    } finally {
      await fast.stop();
    }
  }, 60_000);
});
