import type { Logger } from 'pino';
import type { AuditStore } from '../audit/store.js';
import type { Confirmations } from '../auth/confirmations.js';
import type { CommandRegistry } from '../command/registry.js';
import type { Config } from '../config/schema.js';
import type { Place, Reply } from '../core/types.js';
import type { EventDesk } from '../events/types.js';
import type { HostRegistry } from '../libvirt/hosts.js';
import type { MeetingService } from '../meeting/service.js';
import type { TaskRunner } from '../tasks/runner.js';
import type { Authorized } from './invocation.js';

/** What the pipeline's stages need. Built once by the Bot. */
export interface PipelineDeps {
  /** The current config (a reload replaces it; stages read it per turn). */
  config(): Config;
  registry: CommandRegistry;
  confirmations: Confirmations;
  /** Write-ahead: intents before a host is touched, outcomes after, one record for the rest. */
  audit: AuditStore;
  hosts: HostRegistry;
  meetings: MeetingService | undefined;
  logger: Logger;
  now(): Date;
  /** Warnings for admins (the audit log's), said once to the next admin who speaks to the bot. */
  adminNotices?: string[];
  /** Long work becomes tasks here; without it, work runs within the turn. */
  tasks?: TaskRunner;
  /** Told of each change virtbot is about to make, so the events it causes link to it. */
  ownChanges?: { note(invocation: Authorized, time: Date): { finished(time: Date): void } };
  /** Event subscriptions, for the `events` commands. */
  events?: EventDesk;
  /** Says something in a place on the bot's own initiative (the outcome of a change that settled later). */
  announce?: (place: Place, replies: Reply[]) => Promise<void>;
  /**
   * Locks a VM across virtbot instances (store.postgres) for as long as `fn` runs, inside the
   * in-process lock; absent with the embedded default (one process: the in-process lock is enough).
   */
  crossLock?: <T>(host: string, vm: string, fn: () => Promise<T>) => Promise<T>;
}
