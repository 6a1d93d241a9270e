/**
 * Assembles one virtbot: config, commands, confirmations, audit log, hypervisors, meetings, tasks,
 * event routing — and the pipeline that ties them. Transports get `bot.handle` (and `bot.observe`
 * for chat events); a libvirt event stream is plugged in with `bot.attachEvents(source)`.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { allGroups } from '../commands/index.js';
import { AuditLog } from './audit/log.js';
import { renderItem } from './audit/render.js';
import { Confirmations } from './auth/confirmations.js';
import { CommandRegistry } from './command/registry.js';
import type { CommandGroup } from './command/spec.js';
import type { Config } from './config/schema.js';
import { createLogger } from './core/logger.js';
import { placeKey } from './core/place.js';
import type { AuditRecord, ChatEvent, Place, Reply } from './core/types.js';
import { OwnChanges } from './events/own-changes.js';
import { EventRouter } from './events/router.js';
import { Subscriptions } from './events/subscriptions.js';
import { DEFAULT_KINDS, type EventSource, type Subscription } from './events/types.js';
import type { HostRegistry } from './libvirt/hosts.js';
import type { MeetingService } from './meeting/service.js';
import type { PermissionDesk } from './pipeline/context.js';
import type { AuditSink, PipelineDeps } from './pipeline/deps.js';
import { recordLapses } from './pipeline/lapses.js';
import { createPipeline, type Handler } from './pipeline/pipeline.js';
import { recordId } from './pipeline/stages/record.js';
import { checkTask } from './tasks/check.js';
import { TaskRunner } from './tasks/runner.js';

const LAPSE_SWEEP_MS = 10_000;
const MEETING_SWEEP_MS = 60_000;

/** Posts what the bot says on its own initiative (meeting notices, events) where it belongs. */
export type Announcer = (place: Place, replies: Reply[]) => Promise<void>;

export interface BotParts {
  config: Config;
  hosts: HostRegistry;
  meetings?: MeetingService;
  logger?: Logger;
  groups?: CommandGroup[];
  now?: () => Date;
}

/** The write-ahead sink over the JSONL audit log: intent and outcome are two durable records. */
function fileSink(log: AuditLog): AuditSink {
  return {
    async begin(intent: AuditRecord) {
      await log.append(intent);
      return intent.id;
    },
    finish: (_intentId, outcome) => log.append(outcome),
    record: (entry) => log.append(entry),
    query: (filter) => log.query(filter),
  };
}

export class Bot {
  readonly handle: Handler;
  readonly permissions: PermissionDesk;
  readonly commands: CommandRegistry;
  readonly audit: AuditLog;
  readonly hosts: HostRegistry;
  readonly logger: Logger;
  readonly confirmations: Confirmations;
  private current: Config;
  private readonly meetings: MeetingService | undefined;
  private readonly lapseTimer: NodeJS.Timeout;
  private readonly meetingTimer: NodeJS.Timeout;
  private announcer: Announcer | undefined;
  /** What was to be announced before an announcer was set (tasks recovered at start-up). */
  private readonly unannounced: { place: Place; replies: Reply[] }[] = [];
  readonly tasks: TaskRunner;
  readonly events: EventRouter;
  readonly subscriptions: Subscriptions;
  /** Resolves once the tasks left running by a previous process are checked and reported. */
  readonly tasksRecovered: Promise<unknown>;

  constructor(parts: BotParts) {
    const now = parts.now ?? (() => new Date());
    this.current = parts.config;
    this.hosts = parts.hosts;
    this.meetings = parts.meetings;
    this.logger = parts.logger ?? createLogger({ file: join(parts.config.bot.dataDir, 'virtbot.log') });
    this.commands = new CommandRegistry(parts.groups ?? allGroups());
    this.audit = new AuditLog({
      file: parts.config.audit.file ?? join(parts.config.bot.dataDir, 'audit.jsonl'),
      rotateBytes: parts.config.audit.rotateBytes,
      rotateDaily: parts.config.audit.rotateDaily,
      now,
    });
    this.confirmations = new Confirmations(parts.config.confirm.timeoutSeconds, () => now().getTime());
    const warn = (error: unknown, what: string) => this.logger.warn({ err: error }, what);
    const sink = fileSink(this.audit);
    const dataDir = parts.config.bot.dataDir;
    const minutes = this.meetings
      ? (key: string, record: AuditRecord, line: string) => this.meetings!.recordOperation(key, record, line)
      : undefined;
    this.tasks = new TaskRunner({
      file: join(dataDir, 'tasks.json'),
      settings: () => ({
        afterMs: this.current.tasks.afterSeconds * 1000,
        inline: this.current.tasks.inline,
      }),
      record: (record, intent) => (intent !== undefined ? sink.finish(intent, record) : sink.record(record)),
      announce: (place, replies) => this.announce(place, replies),
      ...(minutes ? { minutes: (key, record) => minutes(key, record, renderItem(record)) } : {}),
      check: (check) => checkTask(this.hosts, check),
      recordId,
      now,
      warn,
    });
    const ownChanges = new OwnChanges();
    this.subscriptions = new Subscriptions(
      join(dataDir, 'events.json'),
      () => configuredSubscriptions(this.current),
      warn,
    );
    this.events = new EventRouter({
      subscriptions: () => this.subscriptions.current(),
      ownChanges,
      announce: (place, replies) => this.announce(place, replies),
      ...(minutes ? { minutes } : {}),
      limits: () => {
        const e = this.current.events;
        return {
          coalesceMs: e.coalesceSeconds * 1000,
          coalesceAt: e.coalesceAt,
          burst: e.burst,
          perSeconds: e.perSeconds,
        };
      },
      botNick: parts.config.bot.nick,
      now,
      warn,
    });
    const deps: PipelineDeps = {
      config: () => this.current,
      registry: this.commands,
      confirmations: this.confirmations,
      audit: sink,
      hosts: this.hosts,
      meetings: this.meetings,
      logger: this.logger,
      now,
      tasks: this.tasks,
      ownChanges,
      events: this.subscriptions,
    };
    const pipeline = createPipeline(deps);
    this.handle = async (msg) => {
      const replies = await pipeline.handle(msg);
      if (!this.tasks.inline) return replies;
      // Inline tasks (transcripts, tests): their completion lines come back with the turn.
      for (const held of await this.tasks.drain()) {
        if (placeKey(held.place) === placeKey(msg.place)) replies.push(...held.replies);
        else await this.announce(held.place, held.replies);
      }
      return replies;
    };
    this.tasksRecovered = this.tasks
      .recover()
      .catch((error: unknown) => warn(error, 'recovering tasks failed'));
    this.permissions = pipeline.permissions;
    // Lapsed confirmation codes are recorded even when nobody speaks again.
    this.lapseTimer = setInterval(() => {
      recordLapses(deps).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'recording lapses failed'),
      );
    }, LAPSE_SWEEP_MS);
    this.lapseTimer.unref();
    // Meetings idle too long are ended, and notices of meetings ended from elsewhere are posted.
    this.meetingTimer = setInterval(() => void this.sweepMeetings(), MEETING_SWEEP_MS);
    this.meetingTimer.unref();
  }

  /** Where the bot's own notices go (the service wires the transports' `send`). */
  announceWith(announcer: Announcer): void {
    this.announcer = announcer;
    for (const { place, replies } of this.unannounced.splice(0)) void this.announce(place, replies);
  }

  /** Posts through the announcer (kept until there is one). */
  private async announce(place: Place, replies: Reply[]): Promise<void> {
    if (!this.announcer) {
      this.unannounced.push({ place, replies });
      return;
    }
    await this.announcer(place, replies).catch((error: unknown) =>
      this.logger.warn({ err: error }, 'an announcement could not be posted'),
    );
  }

  /** Plugs a stream of host events in: they are posted where subscribed. Returns the unplug. */
  attachEvents(source: EventSource): () => void {
    return this.events.attach(source);
  }

  /** Ends meetings left open too long and posts the meetings' notices. */
  async sweepMeetings(now?: Date): Promise<void> {
    if (!this.meetings) return;
    for (const notice of this.meetings.sweep(now)) {
      await this.announcer?.(notice.place, notice.replies).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'a meeting notice could not be posted'),
      );
    }
  }

  get config(): Config {
    return this.current;
  }

  /** Takes a new, already validated config: the next message is judged by it. */
  reload(config: Config): void {
    this.current = config;
  }

  /** What the transports saw happen (nick changes, lines really sent): meetings follow them. */
  observe(event: ChatEvent): void {
    this.meetings?.onEvent(event);
  }

  async close(): Promise<void> {
    clearInterval(this.lapseTimer);
    clearInterval(this.meetingTimer);
    this.events.close();
    await this.tasks.flush().catch(() => undefined);
    await Promise.allSettled([this.hosts.close(), this.meetings?.close(), this.audit.close()]);
    this.logger.flush?.();
  }
}

/** The config's `events.channels` as subscriptions. */
function configuredSubscriptions(config: Config): Subscription[] {
  return config.events.channels.map((c) => ({
    place: { transport: c.transport, network: c.network, channel: c.channel, private: false },
    host: c.host,
    vm: c.vm,
    kinds: [...(c.kinds ?? DEFAULT_KINDS)],
    by: 'config',
    since: 'start',
  }));
}
