import type { Logger } from 'pino';
import type { Confirmations } from '../auth/confirmations.js';
import type { CommandRegistry } from '../command/registry.js';
import type { Config } from '../config/schema.js';
import type { AuditRecord } from '../core/types.js';
import type { EventDesk } from '../events/types.js';
import type { HostRegistry } from '../libvirt/hosts.js';
import type { MeetingService } from '../meeting/service.js';
import type { TaskRunner } from '../tasks/runner.js';
import type { AuditFilter } from './context.js';
import type { Authorized } from './invocation.js';

/**
 * Where the pipeline records. Write-ahead: a command that changes a host has its intent made
 * durable by `begin` before the host is touched, and its outcome by `finish` after; everything
 * else is one `record`. Each resolves only once the record is durable; a rejection means it is not.
 */
export interface AuditSink {
  begin(intent: AuditRecord): Promise<string>;
  finish(intentId: string, outcome: AuditRecord): Promise<void>;
  record(entry: AuditRecord): Promise<void>;
  query(filter: AuditFilter): Promise<AuditRecord[]>;
}

/** What the pipeline's stages need. Built once by the Bot. */
export interface PipelineDeps {
  /** The current config (a reload replaces it; stages read it per turn). */
  config(): Config;
  registry: CommandRegistry;
  confirmations: Confirmations;
  audit: AuditSink;
  hosts: HostRegistry;
  meetings: MeetingService | undefined;
  logger: Logger;
  now(): Date;
  /** Long work becomes tasks here; without it, work runs within the turn. */
  tasks?: TaskRunner;
  /** Told of each change virtbot is about to make, so the events it causes link to it. */
  ownChanges?: { note(invocation: Authorized, time: Date): { finished(time: Date): void } };
  /** Event subscriptions, for the `events` commands. */
  events?: EventDesk;
}
