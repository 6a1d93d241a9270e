/**
 * The IRC transport against real InspIRCd + Atheme services: the bot logs in with SASL, a
 * command from a logged-in account carries that account, and the same nick without the
 * account is refused by a handler that allows only account "alice".
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IrcNetworkSchema } from '../../src/config/sections/transports.js';
import type { InboundMessage, Reply } from '../../src/core/types.js';
import { IrcTransport } from '../../src/transports/irc.js';
import { InspircdAtheme } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { missingPrograms, waitForEvent } from '../harness/util.js';

const missing = missingPrograms('inspircd', 'atheme-services');
const skipReason =
  missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed; run scripts/setup-irc.sh)` : '';

const CHANNEL = '#ops';

/** A stand-in for the pipeline's authorizer: only the services account "alice" may run commands. */
async function onlyAlice(msg: InboundMessage): Promise<Reply[]> {
  if (!msg.addressed) return [];
  if (msg.sender.account !== 'alice') {
    return [{ text: `denied: ${msg.sender.nick} is not logged in as alice`, kind: 'error', private: true }];
  }
  return [{ text: `ok ${msg.text} for account ${msg.sender.account}`, kind: 'reply' }];
}

describe.skipIf(missing.length > 0)(
  'IRC transport with services accounts (InspIRCd + Atheme)' + skipReason,
  () => {
    const server = new InspircdAtheme();
    const seen: InboundMessage[] = [];
    let bot: IrcTransport;
    let alice: IrcPerson;
    let mallory: IrcPerson;

    beforeAll(async () => {
      await server.start();
      const { host, port } = server;
      // Accounts are registered with NickServ; InspIRCd takes ~1 s per registration, so in parallel.
      const registerBot = IrcPerson.connect({
        host,
        port,
        nick: 'virtbot',
        register: { password: 'botpass123' },
      }).then((p) => p.quit());
      [alice, mallory] = await Promise.all([
        IrcPerson.connect({ host, port, nick: 'alice', register: { password: 'alicepass123' } }),
        IrcPerson.connect({ host, port, nick: 'mallory' }),
        registerBot,
      ]);
      const cfg = IrcNetworkSchema.parse({
        name: 'testnet',
        host,
        port,
        tls: false,
        nick: 'virtbot',
        sasl: { account: 'virtbot', password: { value: 'botpass123', insecure: true } },
        channels: [CHANNEL],
        flood: { burst: 10, rate: 100 },
        reconnect: { minDelayMs: 50, maxDelayMs: 500 },
      });
      bot = new IrcTransport(cfg, async (msg) => {
        seen.push(msg);
        return onlyAlice(msg);
      });
      const joined = waitForEvent(bot, 'joined', 10_000);
      await Promise.all([bot.start(), alice.join(CHANNEL), mallory.join(CHANNEL)]);
      await joined;
    }, 30_000);

    afterAll(async () => {
      await Promise.all([alice?.quit(), mallory?.quit()]);
      await bot?.stop();
      await server.dispose();
    });

    test('the bot logged in with SASL', () => {
      expect(bot.connected).toBe(true);
      expect(alice.account).toBe('alice');
      expect(mallory.account).toBeUndefined();
    });

    test('a command from the logged-in account carries the account and is allowed', async () => {
      const from = alice.received.length;
      alice.say(CHANNEL, '!vm list');
      const [r] = await alice.waitFor((m) => m.target === CHANNEL, { from });
      expect(r!.text).toBe('ok vm list for account alice');
      const msg = seen.at(-1)!;
      expect(msg.sender).toMatchObject({ nick: 'alice', account: 'alice' });
      expect(msg.sender.hostmask).toMatch(/^alice!/);
    });

    test('the same nick without the account is refused, and the account follows a nick change', async () => {
      await alice.changeNick('alice_away');
      await mallory.changeNick('alice');
      const fromMallory = mallory.received.length;
      mallory.say(CHANNEL, '!vm destroy web01');
      const [denied] = await mallory.waitFor((m) => m.command === 'NOTICE' && m.text.startsWith('denied'), {
        from: fromMallory,
      });
      expect(denied!.text).toBe('denied: alice is not logged in as alice');
      expect(seen.at(-1)!.sender).toMatchObject({ nick: 'alice' });
      expect(seen.at(-1)!.sender.account).toBeUndefined();

      const fromAlice = alice.received.length;
      alice.say('virtbot', 'vm list');
      const [ok] = await alice.waitFor((m) => m.text.startsWith('ok'), { from: fromAlice });
      expect(ok!.text).toBe('ok vm list for account alice');
      expect(seen.at(-1)!).toMatchObject({
        place: { private: true, channel: 'alice_away' },
        sender: { account: 'alice' },
      });
    });

    test('meeting lines carry the account too, unaddressed', async () => {
      const handled = waitForEvent<[InboundMessage]>(bot, 'handled', 5000);
      alice.say(CHANNEL, '#info the account rides along');
      const [msg] = await handled;
      expect(msg).toMatchObject({
        addressed: false,
        text: '#info the account rides along',
        sender: { account: 'alice' },
      });
    });
  },
);
