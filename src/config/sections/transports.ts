import { z } from 'zod';
import { SecretSchema } from './secret.js';

/** A configured network / server name: used in Place.network and in the access rules (`users.*.irc.NAME`). */
const transportName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a name is letters, digits, . _ -');

const channelName = z.string().regex(/^[#&+!][^\s,\x07]{1,199}$/, 'an IRC channel starts with # (or & + !)');

/** A channel to join: its name, or its name and key (`{ name: '#ops', key: { env: OPS_KEY } }`). */
export const IrcChannelSchema = z.union([
  channelName,
  z
    .object({
      name: channelName,
      key: z.union([
        z.string().regex(/^[^\s,]{1,100}$/, 'a channel key has no spaces or commas'),
        SecretSchema,
      ]),
    })
    .strict(),
]);
export type IrcChannelEntry = z.infer<typeof IrcChannelSchema>;

/** The channel name of a `channels` entry. */
export function channelNameOf(entry: IrcChannelEntry): string {
  return typeof entry === 'string' ? entry : entry.name;
}

/**
 * Outgoing flood control for the whole connection: `burst` lines at once, then `rate` lines per
 * second. The default (4, then 1/s) keeps under common server limits and, with `channelPace`,
 * under a channel's `+f 10:5`.
 */
export const FloodSchema = z
  .object({
    burst: z.number().int().min(1).max(100).default(4),
    rate: z.number().positive().max(1000).default(1),
  })
  .strict();

/**
 * Lines per channel: at most `lines` in any `seconds`. When the channel has InspIRCd's
 * `+f [*]L:S`, the bot keeps to L-1 lines per S+1 seconds instead (the flood counter trips at L
 * lines and resets on whole seconds).
 */
export const ChannelPaceSchema = z
  .object({
    lines: z.number().int().min(1).max(100).default(4),
    seconds: z.number().positive().max(600).default(5),
  })
  .strict();

/** A smaller output budget for people who are not logged in to services (IRC). */
export const AnonymousBudgetSchema = z
  .object({
    channelLines: z.number().int().min(1).max(50).default(2),
    privateLines: z.number().int().min(1).max(500).default(20),
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
    /** Channels to join, by name or as `{ name, key }` for channels with a key (+k). */
    channels: z.array(IrcChannelSchema).default([]),
    /**
     * Take the configured nick back when someone else holds it: always by watching it (MONITOR,
     * or ISON where the server has no MONITOR) and taking it when it frees; with `regainNick`,
     * also at once by asking services (`REGAIN nick` on Atheme, `GHOST nick`, Anope's `RECOVER`).
     * Needs the bot to be logged in to the nick's account (SASL).
     */
    regainNick: z
      .object({
        method: z.enum(['regain', 'ghost', 'recover']).default('regain'),
        service: z.string().min(1).default('NickServ'),
      })
      .strict()
      .optional(),
    /** Unknown `!words` in a channel (likely another bot's commands) get no answer. */
    quietUnknown: z.boolean().default(true),
    /** How long a command waits for the WHOIS that proves its sender's account (without account-tag). */
    identityTimeoutMs: z.number().int().min(100).max(30_000).default(5000),
    /** Command prefix in channels; defaults to `bot.prefix`. */
    prefix: z.string().min(1).max(8).optional(),
    flood: FloodSchema.default({ burst: 4, rate: 1 }),
    channelPace: ChannelPaceSchema.default({ lines: 4, seconds: 5 }),
    reconnect: ReconnectSchema.default({ minDelayMs: 2000, maxDelayMs: 120_000 }),
    /**
     * The output budget of one command in a channel: its replies, whatever their lines, take at
     * most this many lines there (the "N more lines sent to you privately" note included).
     */
    maxChannelLines: z.number().int().min(1).max(50).default(4),
    /** …and at most this many lines privately (the rest is left out, with a note). */
    maxPrivateLines: z.number().int().min(1).max(1000).default(60),
    /** The budget for a sender who is not logged in to services. */
    anonymousBudget: AnonymousBudgetSchema.default({ channelLines: 2, privateLines: 20 }),
    /** How private replies are sent: NOTICE (default) or PRIVMSG. */
    privateAs: z.enum(['notice', 'privmsg']).default('notice'),
  })
  .strict();

/** Discord permissions a server admin would think of for who may see destructive slash commands. */
export const DISCORD_PERMISSION_NAMES = [
  'Administrator',
  'ManageGuild',
  'ManageChannels',
  'ManageRoles',
  'ManageMessages',
  'ModerateMembers',
  'KickMembers',
  'BanMembers',
] as const;

export const DiscordServerSchema = z
  .object({
    /** The server's name in the config (Place.network, `discordRoles.<name>`). */
    name: transportName,
    /** The bot token: one token serves one server here (a repeated token is a config error). */
    token: SecretSchema,
    /** The guild (server) id: slash commands are registered here; its roles prove identity. */
    guildId: z.string().regex(/^\d{5,25}$/, 'a Discord guild id is a number'),
    /**
     * The privileged Message Content intent is enabled for the bot: prefix commands and
     * meeting lines in channels. Without it only mentions, DMs and slash commands work (and
     * meeting lines are given as /meeting commands).
     */
    messageContent: z.boolean().default(false),
    /** Command prefix for text commands (with messageContent); defaults to `bot.prefix`. */
    prefix: z.string().min(1).max(8).optional(),
    /**
     * Only these channels are served — text commands, meeting lines, slash commands and buttons
     * (empty = all). By id, or by name (`ops` or `#ops`). DMs are always served.
     */
    channels: z.array(z.string().regex(/^(\d{5,25}|#?[^\s#]{1,100})$/, 'a channel id or name')).default([]),
    /** Register slash commands generated from the command declarations. */
    slashCommands: z.boolean().default(true),
    /**
     * Who sees the slash commands that contain destructive subcommands (/vm …) by default:
     * members with this permission (server admins can change it per role under Integrations);
     * null: everybody. virtbot's own permissions decide what runs either way.
     */
    destructivePermission: z.enum(DISCORD_PERMISSION_NAMES).nullable().default('ManageGuild'),
    /**
     * Answer a slash command with "thinking…" (deferred) when the command takes longer than
     * this. Capped at 2000 ms and counted from the interaction's own time: Discord wants a first
     * answer within 3 s of it.
     */
    deferAfterMs: z.number().int().min(0).max(2500).default(1500),
    /** One command's budget in the channel: summary and detail, at most this many lines (the rest privately). */
    maxChannelLines: z.number().int().min(1).max(100).default(10),
    /** …and at most this many lines privately (the rest is left out, with a note). */
    maxPrivateLines: z.number().int().min(1).max(2000).default(200),
    /** A private part longer than this many 2000-character messages is attached as a file instead. */
    maxMessages: z.number().int().min(1).max(10).default(3),
    /** Unknown `!words` in a channel (likely another bot's commands) get no answer. */
    quietUnknown: z.boolean().default(true),
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
  discord: z
    .array(DiscordServerSchema)
    .superRefine(uniqueNames('Discord server'))
    .superRefine((servers, ctx) => {
      // The same token given twice (the same variable, file or value): one gateway session cannot be two servers.
      const seen = new Map<string, string>();
      servers.forEach((server, index) => {
        const key = JSON.stringify(server.token);
        const other = seen.get(key);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'token'],
            message: `the same token as Discord server '${other}': one bot token serves one server here (its DMs would run twice)`,
          });
        }
        seen.set(key, server.name);
      });
    })
    .default([]),
};
