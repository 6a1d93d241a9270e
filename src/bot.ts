/**
 * Assembles one virtbot: config, commands, confirmations, audit log, hypervisors, meetings, tasks,
 * event routing — and the pipeline that ties them. Transports get `bot.handle` (and `bot.observe`
 * for chat events); a libvirt event stream is plugged in with `bot.attachEvents(source)`.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { allGroups } from '../commands/index.js';
import { renderItem } from './audit/render.js';
import type { AuditStore } from './audit/store.js';
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
import { complete } from './pipeline/complete.js';
import type { PermissionDesk } from './pipeline/context.js';
import type { PipelineDeps } from './pipeline/deps.js';
import { recordLapses } from './pipeline/lapses.js';
import { createPipeline, type Handler } from './pipeline/pipeline.js';
import { recordId } from './pipeline/stages/record.js';
import { fileStores, type Stores } from './store/open.js';
import { checkTask } from './tasks/check.js';
import { TaskRunner } from './tasks/runner.js';
import type { Completion, CompletionRequest } from './transports/transport.js';

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
  /** Where records, confirmations and tasks are kept (src/store/open.ts); default: the files under bot.dataDir. */
  stores?: Stores;
}

/** Several instances: how often the work of instances that are gone (tasks, open intents) is looked for. */
const ORPHAN_SWEEP_MS = 5_000;

export class Bot {
  readonly handle: Handler;
  readonly permissions: PermissionDesk;
  readonly commands: CommandRegistry;
  readonly audit: AuditStore;
  readonly stores: Stores;
  readonly hosts: HostRegistry;
  readonly logger: Logger;
  readonly confirmations: Confirmations;
  private current: Config;
  private readonly meetings: MeetingService | undefined;
  private readonly lapseTimer: NodeJS.Timeout;
  private readonly meetingTimer: NodeJS.Timeout;
  private announcer: Announcer | undefined;
  /** Warnings for the admins, said once to the next admin who speaks to the bot. */
  private readonly adminNotices: string[] = [];
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
    this.stores = parts.stores ?? fileStores(parts.config, { logger: this.logger, now });
    this.audit = this.stores.audit;
    // What the audit log has to say (unavailable, replaced, a corrupt line …) reaches the admins.
    this.audit.onWarning((warning) => this.adminNotices.push(`audit log: ${warning.message}`));
    this.confirmations = new Confirmations(
      parts.config.confirm.timeoutSeconds,
      () => now().getTime(),
      this.stores.confirmations,
      // A code made by another instance names its command by path.
      (path) => this.commands.get(path.join(' ')),
    );
    const warn = (error: unknown, what: string) => this.logger.warn({ err: error }, what);
    const dataDir = parts.config.bot.dataDir;
    const minutes = this.meetings
      ? (key: string, record: AuditRecord, line: string) => this.meetings!.recordOperation(key, record, line)
      : undefined;
    this.tasks = new TaskRunner({
      file: join(dataDir, 'tasks.json'),
      store: this.stores.tasks,
      settings: () => ({
        afterMs: this.current.tasks.afterSeconds * 1000,
        inline: this.current.tasks.inline,
      }),
      record: async (record, intent) => {
        if (intent !== undefined)
          await this.audit.finish(intent, { outcome: record.outcome, detail: record.detail });
        else await this.audit.record(record);
      },
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
      audit: this.audit,
      adminNotices: this.adminNotices,
      hosts: this.hosts,
      meetings: this.meetings,
      logger: this.logger,
      now,
      tasks: this.tasks,
      ownChanges,
      events: this.subscriptions,
      announce: (place, replies) => this.announce(place, replies),
    };
    const shared = this.stores.shared;
    if (shared) deps.crossLock = (host, vm, fn) => shared.vmLocks.with(host, vm, fn);
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
    // Several instances: tasks and intents of an instance that died are taken over by one that lives.
    if (shared) {
      this.orphanTimer = setInterval(() => void this.sweepOrphans(), ORPHAN_SWEEP_MS);
      this.orphanTimer.unref();
    }
  }

  private orphanTimer: NodeJS.Timeout | undefined;
  private sweeping = false;

  /** Reports the tasks and finishes the intents of instances that are gone (each to one instance). */
  private async sweepOrphans(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.tasks.recover();
      await this.audit.recover((intent) => this.checkIntent(intent));
    } catch (error) {
      this.logger.warn({ err: error }, 'taking over the work of instances that are gone failed');
    } finally {
      this.sweeping = false;
    }
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

  /** What a person typing an argument may pick here (Discord autocomplete). */
  complete(request: CompletionRequest): Promise<Completion[]> {
    return complete({ config: () => this.current, registry: this.commands, hosts: this.hosts }, request);
  }

  /**
   * Opens the audit log and finishes what a previous run left open: every intent without an
   * outcome is recorded as 'unknown', with what its host shows now. Call once before serving.
   */
  async start(): Promise<void> {
    try {
      await this.audit.open();
    } catch (error) {
      // Not fatal: commands that change hosts are refused until the log can be written.
      this.logger.error({ err: error }, 'the audit log cannot be opened');
      return;
    }
    const report = await this.audit.recover((intent) => this.checkIntent(intent));
    for (const intent of report.unresolved) {
      this.logger.warn(
        { intent: intent.id, command: intent.command },
        'an intent had no outcome: recorded as unknown',
      );
    }
  }

  /** What the host shows now of an intent's VM, for the 'unknown' outcome's detail. */
  private async checkIntent(intent: AuditRecord): Promise<string | undefined> {
    if (intent.host === undefined || !this.hosts.names().includes(intent.host)) return undefined;
    const hv = this.hosts.get(intent.host);
    if (intent.vm === undefined) return undefined;
    if (!(await hv.exists(intent.vm))) return `checked: ${intent.vm} is not on ${intent.host}`;
    const summary = await hv.domainSummary(intent.vm);
    return `checked: ${intent.vm} on ${intent.host} is ${summary.state}, ${summary.vcpus} vCPUs, ${summary.memoryKiB} KiB memory`;
  }

  /**
   * Takes a new, already validated config (SIGHUP): the next message is judged by its users,
   * roles and rules. What is built once from the config (hosts, audit log) stays as it was.
   */
  reload(config: Config): void {
    this.current = config;
  }

  /** What the transports saw happen (nick changes, lines really sent): meetings follow them. */
  observe(event: ChatEvent): void {
    this.meetings?.onEvent(event);
  }

  /** A connection this instance takes over (several instances): its open meetings continue here. */
  resumeMeetings(prefix: string): Promise<string[]> {
    return this.meetings?.resume?.(prefix) ?? Promise.resolve([]);
  }

  /** A connection this instance gives up: its meetings are left to the next holder. */
  releaseMeetings(prefix: string): string[] {
    return this.meetings?.release?.(prefix) ?? [];
  }

  async close(): Promise<void> {
    clearInterval(this.lapseTimer);
    clearInterval(this.meetingTimer);
    clearInterval(this.orphanTimer);
    this.events.close();
    await this.tasks.flush().catch(() => undefined);
    await Promise.allSettled([this.hosts.close(), this.meetings?.close()]);
    await this.stores.close().catch(() => undefined);
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
