/**
 * Where tasks are kept (runner.ts says what they are). The embedded default is one JSON file in
 * dataDir (`tasks.json`, written atomically, the next id in it); PostgreSQL keeps one row per task
 * with the instance running it (src/store/postgres/tasks.ts), so that every virtbot lists the
 * tasks of all, and a task whose virtbot died is reported by another one.
 */
import { JsonFile } from './json-file.js';
import type { TaskRecord } from './runner.js';

export interface TaskStore {
  /** The tasks kept (running ones and the latest finished), oldest first. */
  load(): Promise<TaskRecord[]>;
  /** An id for a new task. */
  nextId(): Promise<number>;
  /** Saves `changed` (files: with every other task kept; `tasks` is the whole set after trimming). */
  save(tasks: readonly TaskRecord[], changed?: TaskRecord): Promise<void>;
  /**
   * Of the running tasks, those whose virtbot is gone, handed over to this one (each to one
   * caller). `running` are the ones this process knows of and does not run itself.
   */
  orphans(running: readonly TaskRecord[]): Promise<TaskRecord[]>;
  /** Tasks another virtbot started or changed; returns the unsubscribe. */
  watch?(listener: (task: TaskRecord) => void): () => void;
}

interface Stored {
  next: number;
  tasks: TaskRecord[];
}

/** `dataDir/tasks.json`: one process; every running task found at start-up is an orphan. */
export class JsonTaskStore implements TaskStore {
  private readonly file: JsonFile<Stored>;
  private next = 1;

  constructor(path: string) {
    this.file = new JsonFile<Stored>(path);
  }

  get path(): string {
    return this.file.file;
  }

  async load(): Promise<TaskRecord[]> {
    const stored = await this.file.read({ next: 1, tasks: [] });
    this.next = stored.next;
    return stored.tasks;
  }

  async nextId(): Promise<number> {
    return this.next++;
  }

  save(tasks: readonly TaskRecord[]): Promise<void> {
    return this.file.write({ next: this.next, tasks: [...tasks] });
  }

  async orphans(running: readonly TaskRecord[]): Promise<TaskRecord[]> {
    return [...running];
  }
}
