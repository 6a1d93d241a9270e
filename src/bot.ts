/**
 * Assembles one virtbot: config, commands, authorizer, confirmations, audit log, hypervisors,
 * meetings — and the pipeline that ties them. Transports get `bot.handle` and nothing else.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { allGroups } from '../commands/index.js';
import { AuditLog } from './audit/log.js';
import { type Authorizer, RoleAuthorizer } from './auth/authorizer.js';
import { Confirmations } from './auth/confirmations.js';
import { hostRegistryVmAccess } from './auth/vm-access.js';
import { CommandRegistry } from './command/registry.js';
import type { CommandGroup } from './command/spec.js';
import type { Config } from './config/schema.js';
import { createLogger } from './core/logger.js';
import type { HostRegistry } from './libvirt/hosts.js';
import type { MeetingService } from './meeting/service.js';
import type { PipelineDeps } from './pipeline/deps.js';
import { createPipeline, type Handler } from './pipeline/pipeline.js';
import { recordLapses } from './pipeline/stages/confirm.js';

const LAPSE_SWEEP_MS = 10_000;

export interface BotParts {
  config: Config;
  hosts: HostRegistry;
  meetings?: MeetingService;
  logger?: Logger;
  authorizer?: Authorizer;
  groups?: CommandGroup[];
  now?: () => Date;
}

export class Bot {
  readonly handle: Handler;
  readonly commands: CommandRegistry;
  readonly audit: AuditLog;
  config: Config;
  readonly hosts: HostRegistry;
  readonly logger: Logger;
  readonly confirmations: Confirmations;
  private readonly meetings: MeetingService | undefined;
  private readonly lapseTimer: NodeJS.Timeout;
  private readonly deps: PipelineDeps;
  private readonly services: Record<string, unknown>;
  private readonly ownAuthorizer: boolean;

  constructor(parts: BotParts) {
    const now = parts.now ?? (() => new Date());
    this.config = parts.config;
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
    const authorizer =
      parts.authorizer ?? new RoleAuthorizer(parts.config, { vmAccess: hostRegistryVmAccess(parts.hosts) });
    const services: Record<string, unknown> = { authorizer, config: this.config };
    this.services = services;
    this.ownAuthorizer = parts.authorizer === undefined;
    const deps: PipelineDeps = {
      config: this.config,
      commands: this.commands,
      authorizer,
      confirmations: this.confirmations,
      audit: this.audit,
      hosts: this.hosts,
      meetings: this.meetings,
      logger: this.logger,
      services,
      now,
      commandContext: (turn) => ({
        identity: turn.identity,
        hosts: this.hosts,
        commands: this.commands,
        audit: this.audit,
        placeKey: turn.placeKey,
        place: turn.msg.place,
        services,
        now,
      }),
    };
    this.deps = deps;
    this.handle = createPipeline(deps);
    // Lapsed confirmation codes are recorded even when nobody speaks again.
    this.lapseTimer = setInterval(() => {
      recordLapses(deps).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'recording lapses failed'),
      );
    }, LAPSE_SWEEP_MS);
    this.lapseTimer.unref();
  }

  /**
   * Swaps the configuration the pipeline judges by (SIGHUP): users, roles, rules, identities.
   * Minimal: what is built once from the config (hosts, audit log, rate limits) stays as it was.
   */
  reload(config: Config): void {
    this.config = config;
    this.deps.config = config;
    this.services['config'] = config;
    if (this.ownAuthorizer) {
      const authorizer = new RoleAuthorizer(config, { vmAccess: hostRegistryVmAccess(this.hosts) });
      this.deps.authorizer = authorizer;
      this.services['authorizer'] = authorizer;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.lapseTimer);
    await Promise.allSettled([this.hosts.close(), this.meetings?.close(), this.audit.close()]);
    this.logger.flush?.();
  }
}
