import { z } from 'zod';
import { SecretSchema } from './secret.js';

/** A configured network / server name: used in Place.network and in the access rules (`users.*.irc.NAME`). */
const transportName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a name is letters, digits, . _ -');

const channelName = z.string().regex(/^[#&+!][^\s,\x07]{1,199}$/, 'an IRC channel starts with # (or & + !)');

/** Outgoing flood control: `burst` lines at once, then `rate` lines per second. */
export const FloodSchema = z
  .object({
    burst: z.number().int().min(1).max(100).default(5),
    rate: z.number().positive().max(1000).default(2),
  })
  .strict();

/** Reconnect backoff: doubles from `minDelayMs` up to `maxDelayMs`, with jitter; retries forever. */
export const ReconnectSchema = z
  .object({
    minDelayMs: z.number().int().min(10).default(2000),
    maxDelayMs: z.number().int().min(10).default(120_000),
  })
  .strict();

export const IrcNetworkSchema = z
  .object({
    /** The network's name in the config (Place.network, `users.NAME.irc.<name>`). */
    name: transportName,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(6697),
    tls: z.boolean().default(true),
    /** Verify the server's TLS certificate (turn off only for self-signed test servers). */
    tlsVerify: z.boolean().default(true),
    /** The bot's nick on this network; defaults to `bot.nick`. */
    nick: z.string().min(1).max(30).optional(),
    username: z.string().min(1).max(16).optional(),
    realname: z.string().min(1).default('virtbot chat-ops bot'),
    /** Server password (PASS), if the network needs one. */
    password: SecretSchema.optional(),
    /** Log in to services with SASL PLAIN. */
    sasl: z
      .object({
        account: z.string().min(1),
        password: SecretSchema,
        /** Disconnect (and retry) when SASL fails instead of staying connected unauthenticated. */
        required: z.boolean().default(true),
      })
      .strict()
      .optional(),
    channels: z.array(channelName).default([]),
    /** Command prefix in channels; defaults to `bot.prefix`. */
    prefix: z.string().min(1).max(8).optional(),
    flood: FloodSchema.default({ burst: 5, rate: 2 }),
    reconnect: ReconnectSchema.default({ minDelayMs: 2000, maxDelayMs: 120_000 }),
    /** A channel reply longer than this many lines is summarized there; the rest goes privately. */
    maxChannelLines: z.number().int().min(1).max(50).default(4),
    /** How private replies are sent: NOTICE (default) or PRIVMSG. */
    privateAs: z.enum(['notice', 'privmsg']).default('notice'),
  })
  .strict();

export const DiscordServerSchema = z
  .object({
    /** The server's name in the config (Place.network, `discordRoles.<name>`). */
    name: transportName,
    token: SecretSchema,
    /** The guild (server) id: slash commands are registered here; its roles prove identity. */
    guildId: z.string().regex(/^\d{5,25}$/, 'a Discord guild id is a number'),
    /**
     * The privileged Message Content intent is enabled for the bot: prefix commands and
     * meeting lines in channels. Without it only mentions, DMs and slash commands work.
     */
    messageContent: z.boolean().default(false),
    /** Command prefix for text commands (with messageContent); defaults to `bot.prefix`. */
    prefix: z.string().min(1).max(8).optional(),
    /** Only these channel ids are read for text commands and meeting lines (empty = all). */
    channels: z.array(z.string().regex(/^\d{5,25}$/)).default([]),
    /** Register slash commands generated from the command declarations. */
    slashCommands: z.boolean().default(true),
    /** Defer a slash reply (and show "thinking…") when the command takes longer than this. */
    deferAfterMs: z.number().int().min(0).max(2500).default(1500),
    /** Replies longer than this many 2000-character messages are attached as a file instead. */
    maxMessages: z.number().int().min(1).max(10).default(3),
    /** REST API base URL (tests and API proxies); default is Discord's. */
    api: z.string().url().optional(),
  })
  .strict();

export type FloodConfig = z.infer<typeof FloodSchema>;
export type ReconnectConfig = z.infer<typeof ReconnectSchema>;
export type IrcNetworkConfig = z.infer<typeof IrcNetworkSchema>;
export type IrcNetworkInput = z.input<typeof IrcNetworkSchema>;
export type DiscordServerConfig = z.infer<typeof DiscordServerSchema>;
export type DiscordServerInput = z.input<typeof DiscordServerSchema>;

function uniqueNames<T extends { name: string }>(what: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      if (seen.has(item.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `duplicate ${what} name '${item.name}'`,
        });
      }
      seen.add(item.name);
    });
  };
}

/** Owned by the transports: IRC networks and Discord servers. */
export const TransportsSection = {
  irc: z.array(IrcNetworkSchema).superRefine(uniqueNames('IRC network')).default([]),
  discord: z.array(DiscordServerSchema).superRefine(uniqueNames('Discord server')).default([]),
};
