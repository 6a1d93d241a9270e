/**
 * What a command body may use, by the kind of target it declared. The fields are typed services,
 * each narrow: a command gets the hypervisor its invocation was bound to (never a registry to
 * look VMs up in), and nothing of IRC or Discord.
 */
import type { VerifyReport } from '../audit/store.js';
import type { PendingInvocation } from '../auth/confirmations.js';
import type { Verdict } from '../auth/judge.js';
import type { CommandRegistry } from '../command/registry.js';
import type { ResumeRequest } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import type { HostConfig, TemplateConfig } from '../config/sections/hosts.js';
import type { AuditFilter, AuditRecord, Identity, Place, Sender } from '../core/types.js';

export type { AuditFilter } from '../core/types.js';

import type { CommandResult } from '../command/spec.js';
import type { EventDesk } from '../events/types.js';
import type { HostHealthView } from '../libvirt/health.js';
import type { Hypervisor } from '../libvirt/hypervisor.js';
import type { Sightings } from '../libvirt/placement.js';
import type { MeetingService } from '../meeting/service.js';
import type { TaskRecord, TaskSpec } from '../tasks/runner.js';

/** The configured hosts and templates, as facts (no sessions, no lookups of VMs). */
export interface HostDirectory {
  names(): string[];
  defaultHost(): string;
  config(name?: string): HostConfig;
  templates(): TemplateConfig[];
  template(name: string): TemplateConfig | undefined;
  /** How each host's connection is doing (up, down since when and why, not contacted yet). */
  health(): HostHealthView[];
}

/** The audit log as the asker may see it: other places' and other hosts' records filtered out. */
export interface HistoryReader {
  query(filter: AuditFilter): Promise<AuditRecord[]>;
  /** Walks the whole hash chain; names the first broken link. */
  verify(): Promise<VerifyReport>;
}

/** What `permissions check` learns about a hypothetical invocation, from the pipeline's own stages. */
export interface Explanation {
  /** The command path. */
  path: string;
  /** Where it was judged to be aimed ("web01 on prod-1"). */
  aim: string;
  verdict: Verdict;
}

export interface PermissionDesk {
  /** The identity a configured user (or 'anonymous') has; undefined for an unknown name. */
  identityOf(user: string): Identity | undefined;
  /** Runs parse → resolve → bind → target → judge on `line` as `identity` would say it in `place`. */
  explain(identity: Identity, line: string, place: Place): Promise<Explanation>;
}

/** The asker's side of confirmation codes, in the place they speak in. */
export interface ConfirmationDesk {
  readonly timeoutSeconds: number;
  /** The stored invocation behind the asker's code, to carry on with. */
  confirm(code: string): Promise<ResumeRequest>;
  cancel(code: string): Promise<PendingInvocation>;
  approve(code: string): Promise<PendingInvocation>;
  deny(code: string): Promise<PendingInvocation>;
}

/** Long work (src/tasks/runner.ts), as the asker's turn hands it over. */
export interface TaskDesk {
  /** The work's own result when it ends within a few seconds; else "task N started" (see TaskRunner.run). */
  run(spec: TaskSpec): Promise<CommandResult>;
  list(): TaskRecord[];
  get(id: number): TaskRecord | undefined;
  cancel(id: number): Promise<string>;
}

/** Every command gets these. */
export interface CommandContext {
  identity: Identity;
  sender: Sender;
  place: Place;
  now(): Date;
  /** How a person types a command back here ('!' in an IRC channel). */
  replyPrefix: string;
  registry: CommandRegistry;
  directory: HostDirectory;
  history: HistoryReader;
  permissions: PermissionDesk;
  confirmations: ConfirmationDesk;
  /** The roles and rules of the config, read-only (whoami, permissions rules). */
  access: Pick<Config, 'roles' | 'rules' | 'users'>;
  /** The meetings engine, where one runs (meeting end, meeting list). */
  meetings?: Pick<MeetingService, 'endMeeting' | 'openMeetings'>;
  /** Long work becomes a task here. */
  tasks: TaskDesk;
  /** Which hosts have a VM of that name (for names that must be free everywhere: clone, rename). */
  whereIs(vm: string): Promise<Sightings>;
  /** The event subscriptions of the bot, where events are wired (src/events/). */
  events?: EventDesk;
}

export interface HostContext extends CommandContext {
  host: string;
  hv: Hypervisor;
}

export interface VmContext extends HostContext {
  vm: string;
}

export interface FleetContext extends CommandContext {
  /** The hosts to act on: those the asker may (every host, or the `host=` one). */
  hosts: { name: string; hv: Hypervisor }[];
  /** Hosts left out because the asker may not act on them, with the reason. */
  withheld: { name: string; reason: string }[];
}
