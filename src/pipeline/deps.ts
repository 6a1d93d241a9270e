import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { Confirmations } from '../auth/confirmations.js';
import type { CommandRegistry } from '../command/registry.js';
import type { CommandContext } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import type { HostRegistry } from '../libvirt/hosts.js';
import type { MeetingService } from '../meeting/service.js';
import type { Turn } from './turn.js';

/** What the pipeline's stages need. Built once by the Bot. */
export interface PipelineDeps {
  config: Config;
  commands: CommandRegistry;
  authorizer: Authorizer;
  confirmations: Confirmations;
  audit: AuditLog;
  hosts: HostRegistry;
  meetings: MeetingService | undefined;
  logger: Logger;
  services: Record<string, unknown>;
  now(): Date;
  /** Builds the context a command runs with. */
  commandContext(turn: Turn): CommandContext;
}
