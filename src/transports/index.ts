/**
 * Builds every configured transport: one IrcTransport per `irc:` network and one
 * DiscordTransport per `discord:` server, all feeding the same handler (the pipeline).
 * Per-network settings left out fall back to the `bot:` section (nick, prefix).
 */
import type { CommandSpec } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import { DiscordTransport } from './discord.js';
import { IrcTransport } from './irc.js';
import type { Completer, MessageHandler, Transport, TransportLogger } from './transport.js';

export { DiscordTransport } from './discord.js';
export { IrcTransport } from './irc.js';
export type { Completer, MessageHandler, Transport, TransportLogger } from './transport.js';

export interface TransportDeps {
  handler: MessageHandler;
  /** The command declarations, for Discord's slash commands. */
  commands: readonly CommandSpec[];
  logger?: TransportLogger;
  /** VM / host name completion for slash commands. */
  complete?: Completer;
}

export function createTransports(config: Config, deps: TransportDeps): Transport[] {
  const irc = config.irc.map(
    (network) =>
      new IrcTransport(
        { ...network, nick: network.nick ?? config.bot.nick, prefix: network.prefix ?? config.bot.prefix },
        deps.handler,
        deps.logger,
      ),
  );
  const discord = config.discord.map(
    (server) =>
      new DiscordTransport(
        { ...server, prefix: server.prefix ?? config.bot.prefix },
        deps.handler,
        deps.commands,
        {
          ...(deps.logger ? { logger: deps.logger } : {}),
          ...(deps.complete ? { complete: deps.complete } : {}),
        },
      ),
  );
  return [...irc, ...discord];
}
