/**
 * `virtbot run`: one process serving every configured IRC network and Discord server. A
 * transport that cannot connect is retried (by the transport) and reported; it never stops the others.
 */
import { createApp } from './app.js';
import type { Config } from './config/schema.js';
import { createLogger } from './core/logger.js';
import { IrcTransport } from './transports/irc.js';
import type { Transport } from './transports/transport.js';

export async function runService(config: Config): Promise<number> {
  const logger = createLogger();
  const bot = await createApp(config, { logger });
  const transports: Transport[] = [];
  for (const network of config.irc) {
    transports.push(
      new IrcTransport({ ...network, prefix: network.prefix ?? config.bot.prefix }, bot.handle, logger),
    );
  }
  if (transports.length === 0) {
    logger.error('no IRC network or Discord server configured: nothing to connect to');
    await bot.close();
    return 2;
  }
  for (const transport of transports) {
    transport.start().then(
      () => logger.info({ transport: transport.name }, 'connected'),
      (error: unknown) =>
        logger.error({ transport: transport.name, err: error }, 'could not start; retrying'),
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('shutting down');
  await Promise.allSettled(transports.map((t) => t.stop()));
  await bot.close();
  return 0;
}
