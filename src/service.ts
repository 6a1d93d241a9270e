/**
 * `virtbot run`: one process serving every configured IRC network and Discord server. A
 * transport that cannot connect is retried (by the transport) and reported; it never stops the
 * others. SIGHUP reloads the configuration file; SIGINT and SIGTERM stop cleanly (QUIT).
 *
 * With `store.postgres`, several processes may run on one config: each connection is then
 * started only by the instance holding its lease, and every line is claimed before it is
 * handled (src/ha/). Without it, nothing of that runs: one process, no database.
 */
import type { Logger } from 'pino';
import { virtbotVersion } from '../commands/version.js';
import { createApp } from './app.js';
import type { Bot } from './bot.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { Config } from './config/schema.js';
import { createLogger } from './core/logger.js';
import { openSharedConnections } from './ha/open.js';
import { readyToSpeak } from './ha/ready.js';
import {
  checkDiscordTokens,
  createDiscordTransport,
  createIrcTransport,
  DiscordTransport,
  discordSettings,
  IrcTransport,
  ircSettings,
  type TransportDeps,
} from './transports/index.js';
import type { Transport } from './transports/transport.js';

export interface Service {
  bot: Bot;
  transports: Transport[];
  /**
   * Reads the configuration again (from `configFile`, or the given one) and applies it: joins
   * and parts channels, reconnects networks whose connection settings changed, starts and stops
   * networks added or removed, and hands the rest to the bot. Refuses (and logs why) a file
   * that does not load or check, or changes that need a restart. Resolves with what changed.
   */
  reload(next?: Config): Promise<{ applied: boolean; changes: string[]; reason?: string }>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** The configuration file, read again on reload() and SIGHUP. */
  configFile?: string;
}

/** Settings that are built once at start: changing them needs a restart. */
function restartOnly(current: Config, next: Config): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const changed: string[] = [];
  for (const key of ['dataDir', 'minutesDir', 'minutesUrl'] as const)
    if (!same(current.bot[key], next.bot[key])) changed.push(`bot.${key}`);
  for (const key of ['audit', 'hosts', 'templates', 'confirm', 'rateLimits'] as const)
    if (!same(current[key], next[key])) changed.push(key);
  return changed;
}

/** Starts every transport; resolves once each has connected or failed its first attempt (and keeps retrying). */
export async function startService(
  config: Config,
  logger: Logger = createLogger(),
  options: ServiceOptions = {},
): Promise<Service> {
  await checkDiscordTokens(config);
  const bot = await createApp(config, { logger });
  // With store.postgres (opened and migrated by the stores, or the start failed): leases and claims.
  const shared = bot.stores.shared
    ? openSharedConnections(bot.stores.shared, bot, logger, readyToSpeak)
    : undefined;
  const deps = (connection: string): TransportDeps => ({
    handler: shared ? shared.claimed(connection, bot.handle) : bot.handle,
    commands: bot.commands.all(),
    logger,
    // Autocomplete is judged by the bot, per person, place and chosen host.
    completions: (request) => bot.complete(request),
    // Nick changes, lines really sent, topics: meetings follow them.
    onEvent: (event) => bot.observe(event),
    version: virtbotVersion(),
    confirmTimeoutSeconds: bot.config.confirm.timeoutSeconds,
  });
  const transports: Transport[] = [
    ...config.irc.map((n) => createIrcTransport(config, n, deps(`irc:${n.name}`))),
    ...config.discord.map((s) => createDiscordTransport(config, s, deps(`discord:${s.name}`))),
  ];
  const start = (transport: Transport): Promise<void> => {
    // Shared: the lease starts the transport when (and only while) this instance holds it.
    if (shared) return Promise.resolve(shared.add(transport));
    return startDirect(transport);
  };
  const startDirect = (transport: Transport) =>
    transport.start().then(
      () => logger.info({ transport: transport.name }, 'connected'),
      (error: unknown) =>
        logger.error(
          { transport: transport.name, err: error instanceof Error ? error.message : error },
          'could not connect; retrying in the background',
        ),
    );
  // What the bot says on its own (meeting notices, events) goes out through the transport of its place.
  bot.announceWith(async (place, replies) => {
    if (shared) return shared.send(place, replies);
    const transport = transports.find((t) => t.name === `${place.transport}:${place.network}`);
    if (!transport?.send) throw new Error(`no transport for ${place.transport}:${place.network}`);
    await transport.send(place, replies);
  });
  await Promise.all(transports.map(start));

  let reloading: Promise<unknown> = Promise.resolve();
  const reloadOnce = async (given?: Config) => {
    const refuse = (reason: string) => {
      logger.error({ reason }, `configuration not reloaded: ${reason}`);
      return { applied: false, changes: [], reason };
    };
    let next: Config;
    try {
      if (given) next = given;
      else if (options.configFile) next = await loadConfigFile(options.configFile);
      else return refuse('no configuration file to read (started without --config)');
      await checkDiscordTokens(next);
    } catch (error) {
      return refuse(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
    }
    const current = bot.config;
    const restart = restartOnly(current, next);
    if (restart.length > 0) return refuse(`${restart.join(', ')} change only with a restart`);
    const changes: string[] = [];
    const byName = new Map(transports.map((t) => [t.name, t]));
    const wanted = new Set<string>();
    // Each configured network: reconfigured in place when it exists, started when it is new.
    const entries = [
      ...next.irc.map((network) => ({
        name: `irc:${network.name}`,
        update: (t: Transport) =>
          t instanceof IrcTransport ? t.reconfigure(ircSettings(next, network)) : undefined,
        create: () => createIrcTransport(next, network, deps(`irc:${network.name}`)),
      })),
      ...next.discord.map((server) => ({
        name: `discord:${server.name}`,
        update: (t: Transport) =>
          t instanceof DiscordTransport ? t.reconfigure(discordSettings(next, server)) : undefined,
        create: () => createDiscordTransport(next, server, deps(`discord:${server.name}`)),
      })),
    ];
    for (const entry of entries) {
      wanted.add(entry.name);
      const existing = byName.get(entry.name);
      const updated = existing ? entry.update(existing) : undefined;
      if (updated) {
        for (const change of await updated) changes.push(`${entry.name}: ${change}`);
        continue;
      }
      const added = entry.create();
      transports.push(added);
      changes.push(`${entry.name}: added`);
      void start(added);
    }
    for (const transport of [...transports]) {
      if (wanted.has(transport.name)) continue;
      transports.splice(transports.indexOf(transport), 1);
      changes.push(`${transport.name}: removed`);
      if (shared) await shared.remove(transport);
      else await transport.stop();
    }
    bot.reload(next);
    changes.push('users, roles, rules and the rest: applied');
    logger.info({ changes }, `configuration reloaded: ${changes.join('; ')}`);
    return { applied: true, changes };
  };

  return {
    bot,
    transports,
    reload(next?: Config) {
      // One reload at a time: a second SIGHUP waits for the first.
      const run = reloading.then(() => reloadOnce(next));
      reloading = run.catch(() => undefined);
      return run;
    },
    async stop() {
      // Shared: each lease disconnects its transport first, then gives the connection up.
      if (shared) await shared.stop();
      await Promise.allSettled(transports.map((t) => t.stop()));
      await bot.close();
    },
  };
}

export async function runService(config: Config, options: ServiceOptions = {}): Promise<number> {
  const logger = createLogger();
  if (config.irc.length === 0 && config.discord.length === 0) {
    logger.error('no IRC network or Discord server configured: nothing to connect to');
    return 2;
  }
  // Listening for SIGHUP from the start: the transports connect (and are seen in the channel)
  // before start-up returns, and a SIGHUP then must not kill the process (its default action).
  // One that comes during start-up is applied once the service is up.
  let service: Service | undefined;
  let hangupDuringStart = false;
  const reload = (running: Service) => {
    logger.info({ file: options.configFile }, 'SIGHUP: reloading the configuration');
    void running.reload();
  };
  const onHangup = () => {
    if (service) reload(service);
    else hangupDuringStart = true;
  };
  process.on('SIGHUP', onHangup);
  try {
    service = await startService(config, logger, options);
  } catch (error) {
    process.off('SIGHUP', onHangup);
    logger.error({ err: error instanceof Error ? error.message : error }, 'virtbot cannot start');
    return 2;
  }
  logger.info({ transports: service.transports.map((t) => t.name) }, 'virtbot ready');
  if (hangupDuringStart) reload(service);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.off('SIGHUP', onHangup);
  logger.info('shutting down');
  await service.stop();
  return 0;
}
