/**
 * Builds every configured transport: one IrcTransport per `irc:` network and one
 * DiscordTransport per `discord:` server, all feeding the same handler (the pipeline).
 * Per-network settings left out fall back to the `bot:` section (nick, prefix).
 */
import type { CommandSpec } from '../command/spec.js';
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
export type {
  ChatEventHandler,
  Completer,
  CompletionHandler,
  MessageHandler,
  Transport,
  TransportLogger,
} from './transport.js';

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

export function createTransports(config: Config, deps: TransportDeps): Transport[] {
  const irc = config.irc.map(
    (network) =>
      new IrcTransport(ircSettings(config, network), deps.handler, {
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
        ...(deps.version ? { version: deps.version } : {}),
      }),
  );
  const discord = config.discord.map(
    (server) =>
      new DiscordTransport(discordSettings(config, server), deps.handler, deps.commands, {
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.complete ? { complete: deps.complete } : {}),
      }),
  );
  return [...irc, ...discord];
}
