/**
 * Builds every configured transport: one IrcTransport per `irc:` network and one
 * DiscordTransport per `discord:` server, all feeding the same handler (the pipeline).
 * Per-network settings left out fall back to the `bot:` section (nick, prefix).
 */
import type { CommandSpec } from '../command/spec.js';
import { ConfigError } from '../config/load.js';
import { readSecret } from '../config/read-secret.js';
import type { Config } from '../config/schema.js';
import type { DiscordServerConfig, IrcNetworkConfig } from '../config/sections/transports.js';
import { DiscordTransport } from './discord.js';
import { IrcTransport } from './irc.js';
import type {
  ChatEventHandler,
  Completer,
  CompletionHandler,
  MessageHandler,
  Transport,
  TransportLogger,
} from './transport.js';

export { DiscordTransport } from './discord.js';
export { IrcTransport } from './irc.js';
export type * from './transport.js';

export interface TransportDeps {
  handler: MessageHandler;
  /** The command declarations, for Discord's slash commands. */
  commands: readonly CommandSpec[];
  logger?: TransportLogger;
  /** VM / host name completion for slash commands (the old, narrow form; see `completions`). */
  complete?: Completer;
  /** Argument completion for slash commands (Discord autocomplete). */
  completions?: CompletionHandler;
  /** Nick changes, what was really sent or refused, topics. */
  onEvent?: ChatEventHandler;
  /** virtbot's version (CTCP VERSION). */
  version?: string;
  /** How long a confirmation code lives (Discord disables its buttons when it lapses). */
  confirmTimeoutSeconds?: number;
}

/** An IRC network's settings with the `bot:` defaults filled in. */
export function ircSettings(config: Config, network: IrcNetworkConfig): IrcNetworkConfig {
  return { ...network, nick: network.nick ?? config.bot.nick, prefix: network.prefix ?? config.bot.prefix };
}

/** A Discord server's settings with the `bot:` defaults filled in. */
export function discordSettings(config: Config, server: DiscordServerConfig): DiscordServerConfig {
  return { ...server, prefix: server.prefix ?? config.bot.prefix };
}

/** One IRC network's transport. */
export function createIrcTransport(
  config: Config,
  network: IrcNetworkConfig,
  deps: TransportDeps,
): IrcTransport {
  return new IrcTransport(ircSettings(config, network), deps.handler, {
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
    ...(deps.version ? { version: deps.version } : {}),
  });
}

/** One Discord server's transport. */
export function createDiscordTransport(
  config: Config,
  server: DiscordServerConfig,
  deps: TransportDeps,
): DiscordTransport {
  return new DiscordTransport(discordSettings(config, server), deps.handler, deps.commands, {
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.complete ? { complete: deps.complete } : {}),
    ...(deps.completions ? { completions: deps.completions } : {}),
    ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
    ...(deps.confirmTimeoutSeconds !== undefined
      ? { confirmTimeoutSeconds: deps.confirmTimeoutSeconds }
      : {}),
  });
}

export function createTransports(config: Config, deps: TransportDeps): Transport[] {
  return [
    ...config.irc.map((network) => createIrcTransport(config, network, deps)),
    ...config.discord.map((server) => createDiscordTransport(config, server, deps)),
  ];
}

/**
 * One bot token is one gateway session: configured for two servers it would see every DM twice
 * (and run each DM command twice). Compares the resolved secrets, so that the same token given
 * through two different files or variables is caught too. Throws a ConfigError naming both.
 */
export async function checkDiscordTokens(config: Config): Promise<void> {
  const seen = new Map<string, string>();
  for (const server of config.discord) {
    let token: string;
    try {
      token = await readSecret(server.token, `discord:${server.name} token`);
    } catch {
      continue; // reported when the transport starts
    }
    const other = seen.get(token);
    if (other !== undefined) {
      throw new ConfigError(
        `discord servers '${other}' and '${server.name}' use the same bot token: one token is one gateway session here (its DMs would run twice); give each server its own bot, or configure the token once`,
      );
    }
    seen.set(token, server.name);
  }
}
