/**
 * Small helpers for tests and benchmarks that drive real servers: free ports, waiting on events
 * and on process output with timeouts (never fixed sleeps).
 */
import type { ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { accessSync, constants, type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`);
    this.name = 'TimeoutError';
  }
}

/** Races a promise against a timeout. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type AnyEmitter = Pick<EventEmitter, 'on' | 'off'>;

/** Resolves with the arguments of the first `event` for which `accept` returns true. */
export function waitForEvent<A extends unknown[] = unknown[]>(
  emitter: AnyEmitter,
  event: string,
  ms: number,
  accept: (...args: A) => boolean = () => true,
): Promise<A> {
  let listener: ((...args: unknown[]) => void) | undefined;
  const promise = new Promise<A>((resolve) => {
    listener = (...args: unknown[]) => {
      if (accept(...(args as A))) resolve(args as A);
    };
    emitter.on(event, listener);
  });
  return withTimeout(promise, ms, `event '${event}'`).finally(() => {
    if (listener) emitter.off(event, listener);
  });
}

/** Resolves with the first line of the child's stdout/stderr that matches, or rejects if it exits first. */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  ms: number,
  what: string,
): Promise<string> {
  const cleanups: Array<() => void> = [];
  const promise = new Promise<string>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (pattern.test(line)) resolve(line);
      if (pattern.test(buffered)) resolve(buffered);
    };
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`${what} exited (code ${code}, signal ${signal}) before ${pattern}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
    cleanups.push(() => {
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    });
  });
  return withTimeout(promise, ms, what).finally(() => {
    for (const cleanup of cleanups) cleanup();
  });
}

/** Sends SIGTERM and resolves when the process has exited (SIGKILL after `ms`). */
export function stopProcess(child: ChildProcess, ms = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Resolves with the first line of a (growing) file that matches; watches its directory for changes. */
export function waitForFileLine(path: string, pattern: RegExp, ms: number, what: string): Promise<string> {
  let watcher: FSWatcher | undefined;
  const promise = new Promise<string>((resolve) => {
    const check = () => {
      readFile(path, 'utf8').then(
        (text) => {
          const line = text.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) resolve(line);
        },
        () => {},
      );
    };
    watcher = watch(dirname(path), check);
    check();
  });
  return withTimeout(promise, ms, what).finally(() => watcher?.close());
}

/** Where a program is: on the PATH, or in the sbin directories daemons live in (not on every PATH). */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  return dirs
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

/** The programs among `names` that cannot be found (suites skip with a reason when any is missing). */
export function missingPrograms(...names: string[]): string[] {
  return names.filter((name) => findProgram(name) === undefined);
}

/** The program's full path, for spawning. */
export function program(name: string): string {
  const path = findProgram(name);
  if (!path) throw new Error(`${name} is not installed (run scripts/setup-irc.sh)`);
  return path;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
