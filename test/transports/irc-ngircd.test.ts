/**
 * The IRC transport against a real ngircd (fast, no accounts): addressing, meeting lines,
 * formatting, line splitting, long output, flood-controlled bursts, server restart.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IrcNetworkSchema } from '../../src/config/sections/transports.js';
import type { InboundMessage, Reply } from '../../src/core/types.js';
import { IrcTransport } from '../../src/transports/irc.js';
import { IrcPerson } from '../harness/irc-person.js';
import { Ngircd } from '../harness/ngircd.js';
import { missingPrograms, waitForEvent } from '../harness/util.js';

const missing = missingPrograms('ngircd');
const skipReason =
  missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed; run scripts/setup-irc.sh)` : '';

const CHANNEL = '#ops';

describe.skipIf(missing.length > 0)('IRC transport on ngircd' + skipReason, () => {
  const server = new Ngircd();
  const seen: InboundMessage[] = [];
  let reply: (msg: InboundMessage) => Reply[] = () => [];
  let bot: IrcTransport;
  let bob: IrcPerson;

  beforeAll(async () => {
    await server.start();
    const cfg = IrcNetworkSchema.parse({
      name: 'testnet',
      host: server.host,
      port: server.port,
      tls: false,
      nick: 'virtbot',
      channels: [CHANNEL],
      prefix: '!',
      flood: { burst: 5, rate: 100 },
      channelPace: { lines: 100, seconds: 1 },
      reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      maxChannelLines: 4,
      // ngircd has no accounts: everybody is anonymous here. The tighter budget is tested below.
      anonymousBudget: { channelLines: 4, privateLines: 60 },
    });
    bot = new IrcTransport(cfg, async (msg) => {
      seen.push(msg);
      return reply(msg);
    });
    const botJoined = waitForEvent(bot, 'joined', 5000);
    [bob] = await Promise.all([
      IrcPerson.connect({ host: server.host, port: server.port, nick: 'bob' }),
      bot.start(),
    ]);
    await botJoined;
    await bob!.join(CHANNEL);
  }, 20_000);

  afterAll(async () => {
    await bob?.quit();
    await bot?.stop();
    await server.dispose();
  });

  /** Says `text` as bob and waits until the transport has handed it to the handler. */
  async function sayAndSee(target: string, text: string): Promise<InboundMessage> {
    const before = seen.length;
    const arrived = new Promise<InboundMessage>((resolve) => {
      const previous = reply;
      reply = (msg) => {
        reply = previous;
        resolve(msg);
        return previous(msg);
      };
    });
    bob.say(target, text);
    const msg = await arrived;
    expect(seen.length).toBe(before + 1);
    return msg;
  }

  test('prefix, nick and private messages are addressed, with the prefix stripped; no account on ngircd', async () => {
    const a = await sayAndSee(CHANNEL, '!vm list');
    expect(a).toMatchObject({
      text: 'vm list',
      addressed: true,
      place: { transport: 'irc', network: 'testnet', channel: CHANNEL, private: false },
      sender: { nick: 'bob' },
    });
    expect(a.sender.account).toBeUndefined();
    expect(a.sender.hostmask).toMatch(/^bob!~?bob@/);
    const b = await sayAndSee(CHANNEL, 'virtbot: vm start web01');
    expect(b).toMatchObject({ text: 'vm start web01', addressed: true });
    const c = await sayAndSee('virtbot', 'help vm');
    expect(c).toMatchObject({ text: 'help vm', addressed: true, place: { channel: 'bob', private: true } });
  });

  test('meeting lines and chatter are passed unaddressed; formatting codes are stripped', async () => {
    const info = await sayAndSee(CHANNEL, '#info \x02bold\x02 \x0304,01red\x03 \x1Ditalic\x1D done');
    expect(info).toMatchObject({ text: '#info bold red italic done', addressed: false });
    const chat = await sayAndSee(CHANNEL, 'just chatting about !vm');
    expect(chat).toMatchObject({ text: 'just chatting about !vm', addressed: false });
  });

  test('replies: channel, private as NOTICE, split at the byte limit on word boundaries (UTF-8 safe)', async () => {
    const words = Array.from({ length: 100 }, (_, i) => `wörd${i}→ü`);
    const long = words.join(' ');
    reply = (msg) =>
      msg.addressed
        ? [
            { text: long, kind: 'reply' },
            { text: 'psst', kind: 'reply', private: true },
          ]
        : [];
    const from = bob.received.length;
    await sayAndSee(CHANNEL, '!long');
    const notice = await bob.waitFor((r) => r.command === 'NOTICE' && r.text === 'psst', { from });
    expect(notice[0]!.target).toBe('bob');
    const lines = bob.received.slice(from).filter((r) => r.command === 'PRIVMSG' && r.target === CHANNEL);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.length).toBeLessThanOrEqual(4);
    for (const line of lines) {
      expect(line.bytes).toBeLessThanOrEqual(510); // 512 with CR LF
      expect(line.text).not.toMatch(/\uFFFD/);
    }
    expect(lines.map((l) => l.text).join(' ')).toBe(long);
    reply = () => [];
  });

  test('long output is summarized in the channel and the rest sent privately', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `vm${String(i).padStart(3, '0')} running`);
    reply = (msg) => (msg.addressed ? [{ text: rows.join('\n'), kind: 'reply' }] : []);
    const from = bob.received.length;
    await sayAndSee(CHANNEL, '!vm list');
    const priv = await bob.waitFor((r) => r.command === 'NOTICE', { from, count: 9 });
    const inChannel = bob.received.slice(from).filter((r) => r.target === CHANNEL);
    expect(inChannel.map((r) => r.text)).toEqual([
      rows[0],
      rows[1],
      rows[2],
      'bob: (9 more lines sent to you privately)',
    ]);
    expect(priv.map((r) => r.text)).toEqual(rows.slice(3));
    reply = () => [];
  });

  test('a burst of 50 replies arrives in order, paced by the flood control, without a disconnect', async () => {
    let disconnected = false;
    const onDisconnect = () => {
      disconnected = true;
    };
    bot.on('disconnected', onDisconnect);
    reply = (msg) => (msg.addressed ? [{ text: `reply ${msg.text}`, kind: 'reply' }] : []);
    const from = bob.received.length;
    for (let i = 0; i < 50; i++) bob.say(CHANNEL, `!n${i}`);
    const got = await bob.waitFor((r) => r.target === CHANNEL && r.text.startsWith('reply n'), {
      from,
      count: 50,
      ms: 10_000,
    });
    expect(got.map((r) => r.text)).toEqual(Array.from({ length: 50 }, (_, i) => `reply n${i}`));
    // The pacing itself is tested with a fake clock in units.test.ts; tests never assert on timings.
    expect(disconnected).toBe(false);
    expect(bot.connected).toBe(true);
    bot.off('disconnected', onDisconnect);
    reply = () => [];
  });

  test('the server restarts: the bot reconnects, rejoins and answers again', async () => {
    const disconnected = waitForEvent(bot, 'disconnected', 5000);
    const rejoined = waitForEvent<[string]>(bot, 'joined', 10_000, (ch) => ch === CHANNEL);
    await server.stop();
    await disconnected;
    await bob.quit();
    await server.start();
    await rejoined;
    expect(bot.connected).toBe(true);
    bob = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'bob' });
    await bob.join(CHANNEL);
    reply = (msg) => (msg.addressed ? [{ text: `back: ${msg.text}`, kind: 'reply' }] : []);
    bob.say(CHANNEL, '!status');
    await bob.waitFor((r) => r.text === 'back: status');
    reply = () => [];
  }, 20_000);
});
