/**
 * How the IRC transport behaves among people and other bots, against real InspIRCd + Atheme
 * (botmode, msgid, message-tags, MONITOR; NickServ GHOST/REGAIN): bot mode, other bots, unknown
 * `!words`, addressing, CTCP, regaining its nick, INVITE, bans, channel keys, +m refusals,
 * topics, ChatEvents, and errors in the log in plain words (TLS, SASL).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type IrcNetworkInput, IrcNetworkSchema } from '../../src/config/sections/transports.js';
import type { ChatEvent, InboundMessage, Reply } from '../../src/core/types.js';
import { IrcTransport } from '../../src/transports/irc.js';
import type { TransportLogger } from '../../src/transports/transport.js';
import { InspircdAtheme } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { freePort, missingPrograms, waitForEvent } from '../harness/util.js';

const missing = missingPrograms('inspircd', 'atheme-services');
const skipReason = missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : '';

interface LogEntry {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLogger(): TransportLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = '') =>
      entries.push({ level, obj: obj as Record<string, unknown>, msg });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe.skipIf(missing.length > 0)(`IRC manners${skipReason}`, () => {
  const server = new InspircdAtheme({
    modules: ['botmode', 'ircv3_msgid', 'ircv3_ctctags', 'monitor'],
    athemeModules: ['nickserv/ghost', 'nickserv/enforce'],
  });
  const started: IrcTransport[] = [];
  const people: IrcPerson[] = [];
  let chanop: IrcPerson;

  beforeAll(async () => {
    await server.start();
    chanop = await person('chanop');
    // chanop creates the channels (and so operates them).
    await Promise.all(['#ops', '#secret', '#keyed', '#quiet', '#banned'].map((c) => chanop.join(c)));
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(started.map((t) => t.stop()));
    await Promise.allSettled(people.map((p) => p.quit()));
    await server.dispose();
  });

  async function person(nick: string, extra: Partial<Parameters<typeof IrcPerson.connect>[0]> = {}) {
    const p = await IrcPerson.connect({ host: server.host, port: server.port, nick, ...extra });
    people.push(p);
    return p;
  }

  function transport(
    input: Partial<IrcNetworkInput>,
    handler: (msg: InboundMessage) => Reply[] | Promise<Reply[]> = () => [],
    extra: {
      events?: ChatEvent[];
      logger?: TransportLogger;
      rejoinDelays?: { minMs: number; maxMs: number };
    } = {},
  ): IrcTransport {
    const t = new IrcTransport(
      IrcNetworkSchema.parse({
        name: 'testnet',
        host: server.host,
        port: server.port,
        tls: false,
        flood: { burst: 20, rate: 100 },
        channelPace: { lines: 50, seconds: 1 },
        ...input,
      }),
      async (msg) => handler(msg),
      {
        version: '9.9.9-test',
        ...(extra.logger ? { logger: extra.logger } : {}),
        ...(extra.events ? { onEvent: (e: ChatEvent) => extra.events!.push(e) } : {}),
        ...(extra.rejoinDelays ? { rejoinDelays: extra.rejoinDelays } : {}),
      },
    );
    started.push(t);
    return t;
  }

  async function joined(t: IrcTransport, channel: string): Promise<void> {
    if (t.joinedChannels.includes(channel)) return;
    await waitForEvent<[string]>(t, 'joined', 10_000, (c) => c.toLowerCase() === channel);
  }

  describe('in #ops, with a bot that answers', () => {
    const seen: InboundMessage[] = [];
    const events: ChatEvent[] = [];
    const logger = recordingLogger();
    let bot: IrcTransport;
    let alice: IrcPerson;
    let otherBot: IrcPerson;

    beforeAll(async () => {
      bot = transport(
        { nick: 'virtbot', channels: ['#ops'] },
        (msg) => {
          seen.push(msg);
          if (!msg.addressed) return [];
          if (msg.text.startsWith('seen') || msg.text.startsWith('frobnicate'))
            return [
              { text: `unknown command '${msg.text.split(' ')[0]}'`, kind: 'error', unknownCommand: true },
            ];
          if (msg.text === 'topic please')
            return [{ text: 'topic set', kind: 'reply', setTopic: 'Sprint 12 — planning' }];
          if (msg.text === 'two') return [{ text: 'ok two', kind: 'reply', lines: ['second line'] }];
          return [{ text: `ok ${msg.text}`, kind: 'reply' }];
        },
        { events, logger },
      );
      [alice, otherBot] = await Promise.all([person('alice'), person('seenbot'), bot.start()]);
      await joined(bot, '#ops');
      await Promise.all([alice.join('#ops'), otherBot.join('#ops')]);
      otherBot.client.raw('MODE', 'seenbot', '+B');
      await waitForEvent(otherBot.client, 'mode', 5000);
    }, 30_000);

    /** The next line from `p` the transport hands to the handler. */
    async function said(p: IrcPerson): Promise<InboundMessage> {
      const [msg] = await waitForEvent<[InboundMessage]>(
        bot,
        'handled',
        5000,
        (m) => m.sender.nick === p.nick,
      );
      return msg;
    }

    test('the bot sets +B where the server offers BOT=B', async () => {
      const w = await new Promise<Record<string, unknown>>((resolve) =>
        alice.client.whois('virtbot', resolve),
      );
      expect(w['bot']).toBeDefined();
    });

    test('@virtbot, virtbot: and virtbot, address it; the prompt prefix is ! in a channel and nothing in private; msgid is the id', async () => {
      for (const line of ['@virtbot vm list', 'virtbot: vm list', 'virtbot, vm list', '!vm list']) {
        const got = said(alice);
        alice.say('#ops', line);
        expect(await got).toMatchObject({ text: 'vm list', addressed: true, replyPrefix: '!' });
      }
      const got = said(alice);
      alice.say('virtbot', 'vm list');
      const msg = await got;
      expect(msg).toMatchObject({ addressed: true, replyPrefix: '', place: { private: true } });
      expect(msg.id).toMatch(/\S/);
    });

    test('lines from other bots (+B) are ignored; unknown !words stay quiet in the channel only', async () => {
      const from = alice.received.length;
      otherBot.say('#ops', '!seen bob'); // another bot: not even read
      alice.say('#ops', '!frobnicate'); // unknown, addressed by the prefix only: no answer
      alice.say('#ops', 'virtbot: frobnicate'); // unknown, but addressed by name: answered
      alice.say('virtbot', 'frobnicate'); // unknown, in private: answered
      alice.say('#ops', '!marker');
      await alice.waitFor((r) => r.text === 'ok marker', { from });
      const texts = alice.received.slice(from).map((r) => `${r.target} ${r.text}`);
      expect(texts.filter((t) => t.includes('unknown command'))).toEqual([
        "#ops unknown command 'frobnicate'",
        "alice unknown command 'frobnicate'",
      ]);
      expect(seen.some((m) => m.sender.nick === 'seenbot')).toBe(false);
    });

    test('CTCP PING and VERSION are answered', async () => {
      const pong = waitForEvent<[{ message: string }]>(alice.client, 'ctcp response', 5000, (e) =>
        e.message.startsWith('PING'),
      );
      alice.client.ctcpRequest('virtbot', 'PING', '1234567890');
      expect((await pong)[0].message).toBe('PING 1234567890');
      const version = waitForEvent<[{ message: string }]>(alice.client, 'ctcp response', 5000, (e) =>
        e.message.startsWith('VERSION'),
      );
      alice.client.ctcpRequest('virtbot', 'VERSION');
      expect((await version)[0].message).toBe('VERSION virtbot 9.9.9-test');
    });

    test('what was really said in the channel is reported (sent), and a nick change', async () => {
      const sent = events.length;
      const from = alice.received.length;
      alice.say('#ops', '!report me');
      await alice.waitFor((r) => r.text === 'ok report me', { from });
      if (!events.slice(sent).some((e) => e.type === 'sent' && e.text === 'ok report me')) {
        await waitForEvent(bot, 'chat', 5000, (e: unknown) => (e as ChatEvent).type === 'sent');
      }
      expect(events.slice(sent).filter((e) => e.type === 'sent')).toContainEqual(
        expect.objectContaining({
          type: 'sent',
          text: 'ok report me',
          place: expect.objectContaining({ channel: '#ops' }),
        }),
      );
      const renamed = waitForEvent(bot, 'chat', 5000, (e: unknown) => (e as ChatEvent).type === 'nick');
      await alice.changeNick('alice2');
      expect((await renamed)[0]).toMatchObject({
        type: 'nick',
        from: 'alice',
        to: 'alice2',
        network: 'testnet',
      });
      await alice.changeNick('alice');
    });

    test('under +m a refused reply is reported to the log, as a refused event, and once to the requester', async () => {
      // alice may speak (voiced), the bot may not.
      const modeSet = waitForEvent(chanop.client, 'mode', 5000);
      chanop.client.raw('MODE', '#ops', '+mv', 'alice');
      await modeSet;
      try {
        const from = alice.received.length;
        const refusedBefore = events.filter((e) => e.type === 'refused').length;
        const bothRefused = waitForEvent(
          bot,
          'chat',
          5000,
          () => events.filter((e) => e.type === 'refused').length >= refusedBefore + 2,
        );
        // Two lines of one answer, both refused: the requester hears about it once.
        alice.say('#ops', '!two');
        await bothRefused;
        expect(events.filter((e) => e.type === 'refused').slice(refusedBefore)).toEqual([
          expect.objectContaining({
            type: 'refused',
            text: 'ok two',
            place: expect.objectContaining({ channel: '#ops' }),
          }),
          expect.objectContaining({ type: 'refused', text: 'second line' }),
        ]);
        const [told] = await alice.waitFor(
          (r) => r.command === 'NOTICE' && r.text.startsWith('I cannot speak in #ops'),
          { from },
        );
        expect(told!.target).toBe('alice');
        const marker = waitForEvent(
          bot,
          'chat',
          5000,
          (e: unknown) =>
            (e as ChatEvent).type === 'refused' && (e as { text: string }).text === 'ok marker2',
        );
        alice.say('#ops', '!marker2');
        await marker;
        await alice.waitFor((r) => r.command === 'NOTICE' && r.text.startsWith('I cannot speak in #ops'), {
          from,
          count: 2,
        });
        expect(alice.received.slice(from).filter((r) => r.text.startsWith('I cannot speak'))).toHaveLength(2);
      } finally {
        const unset = waitForEvent(chanop.client, 'mode', 5000);
        chanop.client.raw('MODE', '#ops', '-mv', 'alice');
        await unset;
      }
    });

    test('a topic is set where the bot may, and skipped (logged) where it may not; topics are reported', async () => {
      const from = alice.received.length;
      alice.say('#ops', '!topic please');
      await alice.waitFor((r) => r.text === 'topic set', { from });
      // chanop created #ops (+t) and the bot is no operator: no TOPIC, and the log says why.
      expect(logger.entries.map((e) => e.msg)).toContain(
        'not setting the topic: the channel is +t and the bot is not a channel operator',
      );
      const opped = waitForEvent(chanop.client, 'mode', 5000);
      chanop.client.raw('MODE', '#ops', '+o', 'virtbot');
      await opped;
      const topic = waitForEvent(chanop.client, 'topic', 5000);
      const reported = waitForEvent(bot, 'chat', 5000, (e: unknown) => (e as ChatEvent).type === 'topic');
      alice.say('#ops', '!topic please');
      expect((await topic)[0]).toMatchObject({ topic: 'Sprint 12 — planning', nick: 'virtbot' });
      expect((await reported)[0]).toMatchObject({
        type: 'topic',
        topic: 'Sprint 12 — planning',
        place: { channel: '#ops' },
      });
      chanop.client.raw('MODE', '#ops', '-o', 'virtbot');
    });
  });

  test('a taken nick is regained through NickServ REGAIN, and the log names the nick really used', async () => {
    const owner = await person('keeper', { register: { password: 'keeperpass1' } });
    await owner.quit();
    // Someone else holds the nick when the bot connects.
    await person('keeper');
    const logger = recordingLogger();
    const bot = transport(
      {
        nick: 'keeper',
        sasl: { account: 'keeper', password: { value: 'keeperpass1', insecure: true } },
        regainNick: { method: 'regain' },
      },
      () => [],
      { logger },
    );
    const regained = waitForEvent<[string]>(bot, 'nick', 10_000, (n) => n === 'keeper');
    await bot.start();
    expect(logger.entries.find((e) => e.msg === 'registered')?.obj['nick']).toBe('keeper_');
    await regained;
    expect(bot.nick).toBe('keeper');
    expect(logger.entries.map((e) => e.msg)).toContain('regained nick');
  });

  test('without services help, the nick is taken back when it frees (MONITOR)', async () => {
    const squatter = await person('watcher');
    const bot = transport({ nick: 'watcher' });
    await bot.start();
    expect(bot.nick).toBe('watcher_');
    const regained = waitForEvent<[string]>(bot, 'nick', 10_000, (n) => n === 'watcher');
    await squatter.quit();
    await regained;
  });

  test('invite-only, banned and keyed channels: INVITE, unban and the key get the bot in', async () => {
    const setModes = async (...args: string[]) => {
      const done = waitForEvent(chanop.client, 'mode', 5000);
      chanop.client.raw('MODE', ...args);
      await done;
    };
    await setModes('#secret', '+i');
    await setModes('#keyed', '+k', 'sekrit');
    await setModes('#banned', '+b', 'gatekeeper!*@*');
    const logger = recordingLogger();
    const bot = transport(
      { nick: 'gatekeeper', channels: ['#secret', { name: '#keyed', key: 'sekrit' }, '#banned'] },
      () => [],
      { logger, rejoinDelays: { minMs: 200, maxMs: 400 } },
    );
    const refusedSecret = waitForEvent<[string, string]>(bot, 'refusedJoin', 10_000, (c) => c === '#secret');
    const refusedBanned = waitForEvent<[string, string]>(bot, 'refusedJoin', 10_000, (c) => c === '#banned');
    await bot.start();
    // The key is given: in at once.
    await joined(bot, '#keyed');
    // Refused, with the reason in the log, and retried.
    expect((await refusedSecret)[1]).toMatch(/invite only/);
    expect((await refusedBanned)[1]).toMatch(/banned/);
    expect(logger.entries.some((e) => e.obj['channel'] === '#banned' && /trying again/.test(e.msg))).toBe(
      true,
    );
    expect(bot.joinedChannels).not.toContain('#secret');
    chanop.client.invite('#secret', 'gatekeeper');
    await joined(bot, '#secret');
    await setModes('#banned', '-b', 'gatekeeper!*@*');
    await joined(bot, '#banned');
  }, 30_000);

  test('a TLS certificate error and a refused SASL login are said plainly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'virtbot-tls-'));
    let tls: TlsServer | undefined;
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=irc.test.local',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const port = await freePort();
      tls = createTlsServer({
        key: await readFile(join(dir, 'key.pem')),
        cert: await readFile(join(dir, 'cert.pem')),
      });
      await new Promise<void>((resolve) => tls!.listen(port, '127.0.0.1', resolve));
      const bot = transport({
        host: '127.0.0.1',
        port,
        tls: true,
        tlsVerify: true,
        reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 },
      });
      await expect(bot.start()).rejects.toThrow(
        /TLS certificate error: the certificate of 127\.0\.0\.1:\d+ was not accepted, it is self-signed/,
      );
      await bot.stop();
    } finally {
      tls?.close();
      await rm(dir, { recursive: true, force: true });
    }
    const refused = transport({
      nick: 'saslbot',
      sasl: { account: 'nobody-here', password: { value: 'wrong', insecure: true }, required: true },
      reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    await expect(refused.start()).rejects.toThrow(
      /SASL refused: the services did not accept the password of account 'nobody-here'/,
    );
    await refused.stop();
  });
});
