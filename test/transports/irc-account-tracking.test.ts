/**
 * Accounts without the IRCv3 account-tag (InspIRCd + Atheme with ircv3_accounttag unloaded):
 * the transport tracks them per nick from WHOX on join, extended-join, account-notify and nick
 * changes, and asks WHOIS for an addressed line from someone out of sight.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IrcNetworkSchema } from '../../src/config/sections/transports.js';
import type { InboundMessage } from '../../src/core/types.js';
import { IrcTransport } from '../../src/transports/irc.js';
import { InspircdAtheme } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { missingPrograms, waitForEvent } from '../harness/util.js';

const missing = missingPrograms('inspircd', 'atheme-services');
const skipReason =
  missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed; run scripts/setup-irc.sh)` : '';

describe.skipIf(missing.length > 0)('IRC account tracking without account-tag' + skipReason, () => {
  const server = new InspircdAtheme({ accountTag: false });
  let bot: IrcTransport;
  let alice: IrcPerson;
  let bob: IrcPerson;

  beforeAll(async () => {
    await server.start();
    const { host, port } = server;
    bot = new IrcTransport(
      IrcNetworkSchema.parse({
        name: 'testnet',
        host,
        port,
        tls: false,
        channels: ['#ops'],
        flood: { burst: 10, rate: 100 },
      }),
      async () => [],
    );
    [alice, bob] = await Promise.all([
      IrcPerson.connect({ host, port, nick: 'alice', register: { password: 'alicepass123' } }),
      IrcPerson.connect({ host, port, nick: 'bob' }),
      bot.start(),
    ]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([alice?.quit(), bob?.quit()]);
    await bot?.stop();
    await server.dispose();
  });

  async function said(person: IrcPerson, target: string, text: string): Promise<InboundMessage> {
    const handled = waitForEvent<[InboundMessage]>(
      bot,
      'handled',
      5000,
      (m) => m.sender.nick === person.nick && m.text === text,
    );
    person.say(target, text);
    return (await handled)[0];
  }

  test('the server offers no account-tag', () => {
    const caps = (bot as unknown as { client: { network: { cap: { enabled: string[] } } } }).client.network
      .cap.enabled;
    expect(caps).not.toContain('account-tag');
    expect(caps).toEqual(expect.arrayContaining(['account-notify', 'extended-join']));
  });

  test('WHOX on join: a member already in the channel is known by account', async () => {
    await alice.join('#early');
    const who = waitForEvent<[string]>(bot, 'who', 5000, (c) => c === '#early');
    bot.join('#early');
    await who;
    const msg = await said(alice, '#early', 'hello from before');
    expect(msg.sender.account).toBe('alice');
  });

  test('extended-join, then account-notify when they log in; a nick change keeps the account', async () => {
    await bob.join('#ops');
    expect((await said(bob, '#ops', 'not yet')).sender.account).toBeUndefined();
    const notified = waitForEvent(bob.client, 'loggedin', 5000);
    bob.say('NickServ', 'REGISTER bobpass123 bob@example.test');
    await notified;
    // account-notify reaches the bot as the same ACCOUNT line; wait for the next message to see it.
    expect((await said(bob, '#ops', 'now logged in')).sender.account).toBe('bob');
    await bob.changeNick('bobby');
    expect((await said(bob, '#ops', 'renamed')).sender.account).toBe('bob');
  });

  test('someone out of sight is looked up with WHOIS for an addressed line', async () => {
    alice.client.part('#early');
    await waitForEvent(alice.client, 'part', 5000);
    const msg = await said(alice, bot.nick, 'vm list');
    expect(msg).toMatchObject({ addressed: true, place: { private: true }, sender: { account: 'alice' } });
  });
});
