/**
 * Tasks: long work started by a command. A command hands its work to `run`; when the work ends
 * within `afterMs` (a few seconds) its result is the command's reply as usual. Otherwise it
 * becomes task N: the reply says "task N started", the turn's record says `in-progress`, and when
 * the work ends its outcome is a later record linked to the command's intent, a line in the
 * place it was asked in that mentions the requester (through the bot's announcer), and an item
 * in the minutes of a meeting open there.
 *
 * Tasks are kept in `dataDir/tasks.json` (written atomically), or in PostgreSQL (task-store.ts).
 * A task that was still running when its virtbot stopped is, at the next start (or, with
 * several instances, once another sees it is gone), looked at on its host (`TaskCheck`) and
 * reported as "outcome unknown, checked: …".
 *
 * In `inline` mode (transcripts, tests) every handed-over work becomes a task at once and the
 * bot awaits it before the turn's replies are returned: its completion line comes back with them
 * (`drain`), so a transcript reads "task 1 started" then "task 1 done" with no waiting.
 *
 * Hook for rich transports (Discord edits progress in place): `watch(listener)` is told when a
 * task starts, reports progress and ends, with the task's record (id, place, progress, state).
 */
import type { CommandResult } from '../command/spec.js';
import type { AuditRecord, Outcome, Place, Reply } from '../core/types.js';
import { messageOf } from '../libvirt/virsh-shell.js';
import { JsonTaskStore, type TaskStore } from './task-store.js';

export type TaskState = 'running' | 'done' | 'failed' | 'cancelled' | 'unknown';

/** What to look at on the host after a restart, to say what became of a task. */
export type TaskCheck =
  | { kind: 'vm-exists'; host: string; vm: string }
  | { kind: 'snapshot'; host: string; vm: string; snapshot: string }
  | { kind: 'vm-state'; host: string; vm: string };

export interface TaskRecord {
  id: number;
  title: string;
  /** The command line as recorded, and its path. */
  command: string;
  path: string;
  host?: string;
  vm?: string;
  who: { user: string | null; nick: string; proof: string };
  place: Place;
  placeKey: string;
  /** The write-ahead intent of the command, which the task's outcome completes. */
  intent?: string;
  startedAt: string;
  endedAt?: string;
  state: TaskState;
  progress?: string;
  /** The outcome in words, once it ended. */
  result?: string;
  /** How a cancel stops it ('job': libvirt aborts the job; 'steps': it stops after its current step). */
  cancel?: 'job' | 'steps';
  check?: TaskCheck;
}

export interface TaskHandle {
  /** Aborted by `task cancel N`. */
  signal: AbortSignal;
  /** What it is doing now ("copying disk 2 of 3"). */
  progress(text: string): void;
}

export interface TaskSpec {
  /** "clone web01 to web02". */
  title: string;
  work(handle: TaskHandle): Promise<CommandResult>;
  /** How it can be cancelled; absent when libvirt offers no way to stop it. */
  cancel?: { how: 'job' | 'steps'; abort?: () => Promise<void> };
  check?: TaskCheck;
}

/** The turn that started the work, as the pipeline knows it. */
export interface TaskTurn
  extends Pick<TaskRecord, 'command' | 'path' | 'host' | 'vm' | 'who' | 'place' | 'placeKey'> {
  /** The intent record's id, once written (commands that change a host). */
  intentId(): string | undefined;
  /** Resolves once the turn's own record (`in-progress`) is written. */
  recorded: Promise<void>;
}

export interface TaskSettings {
  /** Work still running after this long becomes a task. */
  afterMs: number;
  /** Tests and transcripts: every work is a task, awaited before the turn's replies return. */
  inline: boolean;
}

export interface TaskDeps {
  file: string;
  /** Where tasks are kept (default: the JSON `file`). */
  store?: TaskStore;
  settings(): TaskSettings;
  /** Writes the task's outcome record (completing `intent` when there is one). */
  record(record: AuditRecord, intent: string | undefined): Promise<void>;
  announce(place: Place, replies: Reply[]): Promise<void>;
  /** An item in the minutes of the meeting open in that place, if any. */
  minutes?(placeKey: string, record: AuditRecord): Promise<void>;
  /** What the host shows now, for a task whose outcome is unknown. */
  check(check: TaskCheck): Promise<string>;
  recordId(time: Date): string;
  now(): Date;
  warn(error: unknown, what: string): void;
}

export class TaskError extends Error {}

interface Stored {
  tasks: TaskRecord[];
}

type Settled = { ok: true; result: CommandResult } | { ok: false; error: unknown };

/** Finished tasks kept for `tasks` and `task N`. */
const KEEP_FINISHED = 20;

export type TaskListener = (task: TaskRecord, change: 'started' | 'progress' | 'ended') => void;

export class TaskRunner {
  private readonly store: TaskStore;
  private state: Stored = { tasks: [] };
  private readonly live = new Map<number, { spec: TaskSpec; controller: AbortController }>();
  private readonly pending = new Set<Promise<void>>();
  private readonly held: { place: Place; replies: Reply[] }[] = [];
  private readonly listeners = new Set<TaskListener>();
  private loaded: Promise<void>;

  constructor(private readonly deps: TaskDeps) {
    this.store = deps.store ?? new JsonTaskStore(deps.file);
    this.loaded = this.store.load().then(
      (tasks) => {
        this.state = { tasks };
      },
      (error: unknown) => deps.warn(error, `cannot read the tasks (${deps.file}): starting with no tasks`),
    );
    // What other instances start and finish is listed here too.
    this.store.watch?.((task) => {
      if (this.live.has(task.id)) return;
      const at = this.state.tasks.findIndex((t) => t.id === task.id);
      if (at >= 0) this.state.tasks[at] = task;
      else this.state.tasks.push(task);
      this.state.tasks.sort((a, b) => a.id - b.id);
    });
  }

  get inline(): boolean {
    return this.deps.settings().inline;
  }

  /**
   * Runs `spec.work`. Its own result when it ends in time; else "task N started" (outcome
   * `in-progress`, `hold` settling when the work does, so the VM stays locked until then).
   */
  async run(spec: TaskSpec, turn: TaskTurn): Promise<CommandResult> {
    await this.loaded;
    const controller = new AbortController();
    let task: TaskRecord | undefined;
    let progress: string | undefined;
    const handle: TaskHandle = {
      signal: controller.signal,
      progress: (text) => {
        progress = text;
        if (!task) return;
        task.progress = text;
        this.persist(task);
        this.emit(task, 'progress');
      },
    };
    const settled: Promise<Settled> = spec.work(handle).then(
      (result) => ({ ok: true, result }),
      (error: unknown) => ({ ok: false, error }),
    );
    const { afterMs, inline } = this.deps.settings();
    if (!inline) {
      let timer: NodeJS.Timeout | undefined;
      const first = await Promise.race([
        settled,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), afterMs);
        }),
      ]);
      clearTimeout(timer);
      if (first) {
        if (first.ok) return first.result;
        throw first.error;
      }
    }
    const id = await this.store.nextId();
    task = {
      id,
      title: spec.title,
      command: turn.command,
      path: turn.path,
      ...(turn.host !== undefined ? { host: turn.host } : {}),
      ...(turn.vm !== undefined ? { vm: turn.vm } : {}),
      who: turn.who,
      place: turn.place,
      placeKey: turn.placeKey,
      startedAt: this.deps.now().toISOString(),
      state: 'running',
      ...(progress !== undefined ? { progress } : {}),
      ...(spec.cancel ? { cancel: spec.cancel.how } : {}),
      ...(spec.check ? { check: spec.check } : {}),
    };
    const intent = turn.intentId();
    if (intent !== undefined) task.intent = intent;
    this.state.tasks.push(task);
    this.live.set(task.id, { spec, controller });
    this.persist(task);
    this.emit(task, 'started');
    const started = task;
    const ending = Promise.all([settled, turn.recorded]).then(([s]) => this.end(started, s));
    this.pending.add(ending);
    void ending.finally(() => this.pending.delete(ending));
    const how = spec.cancel ? `'task cancel ${task.id}' stops it` : 'it cannot be cancelled';
    return {
      reply: `task ${task.id} started: ${spec.title}${progress ? ` (${progress})` : ''}; 'task show ${task.id}' shows it, ${how}`,
      detail: `task ${task.id} started: ${spec.title}`,
      outcome: 'in-progress',
      hold: settled,
    };
  }

  private async end(task: TaskRecord, settled: Settled): Promise<void> {
    const live = this.live.get(task.id);
    this.live.delete(task.id);
    const cancelled = live?.controller.signal.aborted === true;
    let outcome: Outcome;
    if (settled.ok) {
      outcome = settled.result.outcome === 'failed' ? 'failed' : 'ok';
      task.result = settled.result.reply;
    } else {
      outcome = cancelled ? 'cancelled' : 'failed';
      task.result = cancelled ? `cancelled (${messageOf(settled.error)})` : messageOf(settled.error);
    }
    task.state = outcome === 'ok' ? 'done' : outcome === 'cancelled' ? 'cancelled' : 'failed';
    const ended = this.deps.now();
    task.endedAt = ended.toISOString();
    this.trim();
    this.persist(task);
    this.emit(task, 'ended');
    const took = duration(Date.parse(task.startedAt), ended.getTime());
    const detail = settled.ok && settled.result.detail !== undefined ? settled.result.detail : task.result;
    await this.report(task, outcome, `task ${task.id} ${task.state} after ${took}: ${detail}`, {
      text: `${task.who.nick}: task ${task.id} ${task.state} (${task.title}, ${took}): ${task.result}`,
      kind: outcome === 'ok' ? 'reply' : 'error',
    });
  }

  /** The outcome record, the minutes item and the line in the task's place. */
  private async report(task: TaskRecord, outcome: Outcome, detail: string, reply: Reply): Promise<void> {
    const time = this.deps.now();
    const record: AuditRecord = {
      id: this.deps.recordId(time),
      time: time.toISOString(),
      transport: task.place.transport,
      network: task.place.network,
      channel: task.place.channel,
      user: task.who.user,
      nick: task.who.nick,
      proof: task.who.proof,
      command: task.command,
      path: task.path,
      outcome,
      detail,
      ...(task.host !== undefined ? { host: task.host } : {}),
      ...(task.vm !== undefined ? { vm: task.vm } : {}),
      ...(task.place.private ? { private: true } : {}),
      ...(task.intent !== undefined ? { intent: task.intent } : {}),
    };
    try {
      await this.deps.record(record, task.intent);
    } catch (error) {
      this.deps.warn(error, `the outcome of task ${task.id} could not be recorded`);
      reply = { ...reply, text: `${reply.text} (its outcome could not be recorded: ${messageOf(error)})` };
    }
    if (!task.place.private)
      await this.deps.minutes?.(task.placeKey, record).catch((e: unknown) => this.deps.warn(e, 'minutes'));
    if (this.inline) this.held.push({ place: task.place, replies: [reply] });
    else
      await this.deps
        .announce(task.place, [reply])
        .catch((error: unknown) => this.deps.warn(error, `task ${task.id}'s line could not be posted`));
  }

  /**
   * Tasks left running by a previous process: each is checked on its host and reported as
   * outcome unknown, with what was found.
   */
  async recover(): Promise<TaskRecord[]> {
    await this.loaded;
    const orphans = await this.store.orphans(
      this.state.tasks.filter((t) => t.state === 'running' && !this.live.has(t.id)),
    );
    for (const task of orphans) {
      const at = this.state.tasks.findIndex((t) => t.id === task.id);
      if (at >= 0) this.state.tasks[at] = task;
      else this.state.tasks.push(task);
      let found: string;
      try {
        found = task.check ? await this.deps.check(task.check) : 'nothing to check for this kind of task';
      } catch (error) {
        found = `checking failed: ${messageOf(error)}`;
      }
      task.state = 'unknown';
      task.endedAt = this.deps.now().toISOString();
      task.result = `outcome unknown, checked: ${found}`;
      this.persist(task);
      this.emit(task, 'ended');
      await this.report(
        task,
        'unknown',
        `task ${task.id} (${task.title}) was running when virtbot stopped: outcome unknown, checked: ${found}`,
        {
          text: `${task.who.nick}: task ${task.id} (${task.title}) was running when virtbot stopped: outcome unknown, checked: ${found}`,
          kind: 'error',
        },
      );
    }
    return orphans;
  }

  /** Waits for every task to end; returns (and forgets) the lines held back in inline mode. */
  async drain(): Promise<{ place: Place; replies: Reply[] }[]> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    return this.held.splice(0);
  }

  list(): TaskRecord[] {
    return [...this.state.tasks].sort(
      (a, b) => Number(b.state === 'running') - Number(a.state === 'running') || b.id - a.id,
    );
  }

  get(id: number): TaskRecord | undefined {
    return this.state.tasks.find((t) => t.id === id);
  }

  /** Asks a running task to stop; says how. */
  async cancel(id: number): Promise<string> {
    const task = this.get(id);
    if (!task) throw new TaskError(`no task ${id} (see 'tasks')`);
    if (task.state !== 'running') throw new TaskError(`task ${id} is not running (${task.state})`);
    const live = this.live.get(id);
    if (!live) throw new TaskError(`task ${id} is not running in this virtbot`);
    const how = live.spec.cancel;
    if (!how)
      throw new TaskError(`task ${id} (${task.title}) cannot be cancelled: libvirt has no way to stop it`);
    live.controller.abort();
    if (how.abort) await how.abort();
    return how.how === 'job'
      ? `asked libvirt to abort task ${id} (${task.title})`
      : `task ${id} (${task.title}) stops after its current step, and removes what it made`;
  }

  watch(listener: TaskListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(task: TaskRecord, change: 'started' | 'progress' | 'ended'): void {
    for (const listener of this.listeners) {
      try {
        listener(task, change);
      } catch (error) {
        this.deps.warn(error, 'a task listener failed');
      }
    }
  }

  private trim(): void {
    const finished = this.state.tasks.filter((t) => t.state !== 'running');
    const drop = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)));
    this.state.tasks = this.state.tasks.filter((t) => !drop.has(t));
  }

  private persist(task?: TaskRecord): void {
    this.store
      .save(this.state.tasks, task)
      .catch((error: unknown) => this.deps.warn(error, `tasks could not be saved (${this.deps.file})`));
  }

  /** Every pending write is stored. */
  async flush(): Promise<void> {
    await this.store.save(this.state.tasks);
  }
}

/** "12 s", "3 min 4 s", "1 h 2 min". */
export function duration(fromMs: number, toMs: number): string {
  const s = Math.max(0, Math.round((toMs - fromMs) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}
