/** The transports' config section and createTransports: an IRC network and a Discord server side by side. */
import { describe, expect, test } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { createTransports } from '../../src/transports/index.js';

const example = {
  bot: { nick: 'virtbot', prefix: '!' },
  hosts: [{ name: 'lab1', uri: 'test:///default' }],
  irc: [
    {
      name: 'libera',
      host: 'irc.libera.chat',
      port: 6697,
      tls: true,
      sasl: { account: 'virtbot', password: { env: 'VIRTBOT_SASL_PASSWORD' } },
      channels: ['#ops', '#ops-meetings'],
      flood: { burst: 4, rate: 1 },
    },
  ],
  discord: [
    {
      name: 'lab',
      token: { file: '/etc/virtbot/discord.token' },
      guildId: '123456789012345678',
      messageContent: false,
    },
  ],
};

describe('transports config', () => {
  test('an IRC network and a Discord server, with defaults filled in', () => {
    const config = ConfigSchema.parse(example);
    expect(config.irc[0]).toMatchObject({
      name: 'libera',
      tlsVerify: true,
      maxChannelLines: 4,
      privateAs: 'notice',
      reconnect: { minDelayMs: 2000, maxDelayMs: 120_000 },
      sasl: { account: 'virtbot', required: true },
    });
    expect(config.discord[0]).toMatchObject({
      slashCommands: true,
      deferAfterMs: 1500,
      maxMessages: 3,
      channels: [],
    });
    const transports = createTransports(config, { handler: async () => [], commands: [] });
    expect(transports.map((t) => t.name)).toEqual(['irc:libera', 'discord:lab']);
  });

  test('mistakes are refused: duplicate names, literal secrets, bad channel names', () => {
    const twice = { ...example, irc: [example.irc[0], example.irc[0]] };
    expect(() => ConfigSchema.parse(twice)).toThrow(/duplicate IRC network name 'libera'/);
    const literal = { ...example, discord: [{ ...example.discord[0], token: { value: 'abc' } }] };
    expect(() => ConfigSchema.parse(literal)).toThrow();
    const channel = { ...example, irc: [{ ...example.irc[0], channels: ['ops'] }] };
    expect(() => ConfigSchema.parse(channel)).toThrow(/channel/);
  });
});
