/**
 * A transport that cannot connect reports it (start() rejects), keeps retrying, and connects
 * once the server is there: IRC against ngircd, Discord against the fake gateway.
 */
import { describe, expect, test } from 'vitest';
import { DiscordServerSchema, IrcNetworkSchema } from '../../src/config/sections/transports.js';
import { DiscordTransport } from '../../src/transports/discord.js';
import { IrcTransport } from '../../src/transports/irc.js';
import { FakeDiscord } from '../harness/fake-discord.js';
import { Ngircd } from '../harness/ngircd.js';
import { freePort, missingPrograms, waitForEvent } from '../harness/util.js';

const handler = async () => [];
const noNgircd = missingPrograms('ngircd').length > 0;

describe('retry when the server is not there', () => {
  test.skipIf(noNgircd)(
    'IRC: start() rejects, the transport retries and connects when the server comes up',
    async () => {
      const server = new Ngircd();
      await server.start();
      await server.stop(); // the port is now known and closed
      const bot = new IrcTransport(
        IrcNetworkSchema.parse({
          name: 'down',
          host: server.host,
          port: server.port,
          tls: false,
          channels: ['#ops'],
          reconnect: { minDelayMs: 20, maxDelayMs: 100 },
        }),
        handler,
      );
      try {
        await expect(bot.start()).rejects.toThrow(
          /irc:down: connection refused by 127\.0\.0\.1:\d+ \(nothing listens there\).*retrying/,
        );
        const connected = waitForEvent(bot, 'connected', 10_000);
        await server.start();
        await connected;
        expect(bot.connected).toBe(true);
      } finally {
        await bot.stop();
        await server.dispose();
      }
    },
  );

  test('Discord: start() rejects, the transport retries and logs in when the gateway comes up', async () => {
    const port = await freePort();
    const fake = new FakeDiscord();
    const bot = new DiscordTransport(
      DiscordServerSchema.parse({
        name: 'down',
        token: { value: 'fake-token', insecure: true },
        guildId: fake.guildId,
        api: `http://127.0.0.1:${port}/api`,
      }),
      handler,
      [],
      { retry: { minDelayMs: 20, maxDelayMs: 100 } },
    );
    try {
      await expect(bot.start()).rejects.toThrow(/discord:down: login failed/);
      const ready = waitForEvent(bot, 'ready', 10_000);
      await fake.start(port);
      await ready;
      expect(bot.connected).toBe(true);
      expect(fake.commandPuts).toBe(1);
    } finally {
      await bot.stop();
      await fake.stop();
    }
  });
});
