/**
 * Builds a ready Bot from a validated config: the hypervisors, the meetings engine, the logger.
 * The CLI, the transcript runner and the long-running service all start here.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Bot } from './bot.js';
import type { Config } from './config/schema.js';
import { createLogger } from './core/logger.js';
import { hostEventSource } from './events/from-hosts.js';
import { HostRegistry } from './libvirt/hosts.js';
import { MeetingManager } from './meeting/manager.js';
import { openStores } from './store/open.js';

export interface AppOptions {
  logger?: Logger;
  now?: () => Date;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<Bot> {
  const logger = options.logger ?? createLogger({ file: join(config.bot.dataDir, 'virtbot.log') });
  // Files by default; with store.postgres, the shared database (migrated now: a start fails when it cannot be).
  const stores = await openStores(config, { logger, ...(options.now ? { now: options.now } : {}) });
  const hosts = new HostRegistry(config);
  const meetingOptions: ConstructorParameters<typeof MeetingManager>[0] = {
    dataDir: config.bot.dataDir,
    minutesDir: config.bot.minutesDir ?? join(config.bot.dataDir, 'minutes'),
    botNick: config.bot.nick,
    idleEndMinutes: config.meetings.idleEndMinutes,
    autoEndHours: config.meetings.autoEndHours,
    // Two channels of the same name on two networks must not share a folder.
    networkInPath: config.irc.length + config.discord.length > 1,
  };
  if (config.bot.minutesUrl !== undefined) meetingOptions.minutesUrl = config.bot.minutesUrl;
  if (options.now !== undefined) meetingOptions.clock = options.now;
  if (stores.kind === 'postgres') {
    meetingOptions.journals = stores.journals;
    meetingOptions.warn = (error, what) => logger.warn({ err: error }, what);
  }
  const meetings = new MeetingManager(meetingOptions);
  const parts: ConstructorParameters<typeof Bot>[0] = { config, hosts, meetings, logger, stores };
  if (options.now !== undefined) parts.now = options.now;
  const bot = new Bot(parts);
  await bot.start();
  // Hosts connect now, not at the first command; one that cannot be reached is reported (and
  // retried by its circuit breaker) without holding up the others or the start.
  void hosts
    .connectAll()
    .catch((error: unknown) => logger.warn({ err: error }, 'connecting to the hosts failed'));
  // libvirt's events on every host feed the channels that subscribed to them.
  bot.attachEvents(hostEventSource(hosts));
  return bot;
}
