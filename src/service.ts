/**
 * `virtbot run`: one process serving every configured IRC network and Discord server. A
 * transport that cannot connect is retried (by the transport) and reported; it never stops the others.
 */
import type { Logger } from 'pino';
import { createApp } from './app.js';
import type { Bot } from './bot.js';
import type { Config } from './config/schema.js';
import { createLogger } from './core/logger.js';
import { createTransports } from './transports/index.js';
import type { Completer, Transport } from './transports/transport.js';

export interface Service {
  bot: Bot;
  transports: Transport[];
  stop(): Promise<void>;
}

/** VM and host names for Discord autocomplete: configured hosts, and the VMs of the default host. */
function completer(bot: Bot): Completer {
  return async (type, prefix) => {
    const wanted = prefix.toLowerCase();
    const names =
      type === 'host'
        ? bot.hosts.names()
        : await bot.hosts
            .get()
            .listDomainNames()
            .catch(() => []);
    return names.filter((n) => n.toLowerCase().startsWith(wanted)).slice(0, 25);
  };
}

/** Starts every transport; resolves once each has connected or failed its first attempt (and keeps retrying). */
export async function startService(config: Config, logger: Logger = createLogger()): Promise<Service> {
  const bot = await createApp(config, { logger });
  const transports = createTransports(config, {
    handler: bot.handle,
    commands: bot.commands.all(),
    logger,
    complete: completer(bot),
  });
  await Promise.all(
    transports.map((transport) =>
      transport.start().then(
        () => logger.info({ transport: transport.name }, 'connected'),
        (error: unknown) =>
          logger.error(
            { transport: transport.name, err: error },
            'could not connect; retrying in the background',
          ),
      ),
    ),
  );
  return {
    bot,
    transports,
    async stop() {
      await Promise.allSettled(transports.map((t) => t.stop()));
      await bot.close();
    },
  };
}

export async function runService(config: Config): Promise<number> {
  const logger = createLogger();
  if (config.irc.length === 0 && config.discord.length === 0) {
    logger.error('no IRC network or Discord server configured: nothing to connect to');
    return 2;
  }
  const service = await startService(config, logger);
  logger.info({ transports: service.transports.map((t) => t.name) }, 'virtbot ready');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('shutting down');
  await service.stop();
  return 0;
}
