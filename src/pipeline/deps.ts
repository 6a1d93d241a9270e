import type { Logger } from 'pino';
import type { AuditStore } from '../audit/store.js';
import type { Confirmations } from '../auth/confirmations.js';
import type { CommandRegistry } from '../command/registry.js';
import type { Config } from '../config/schema.js';
import type { HostRegistry } from '../libvirt/hosts.js';
import type { MeetingService } from '../meeting/service.js';

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
}
