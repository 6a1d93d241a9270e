/**
 * A virtbot assembled for measuring: the real Bot (pipeline, authorizer, confirmations, meetings,
 * audit log) with a user who may run everything, a `bench noop` command, and console-style
 * messages. Built from public exports only.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { allGroups } from '../../commands/index.js';
import { Bot } from '../../src/bot.js';
import type { CommandGroup } from '../../src/command/spec.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import type { AuditRecord, InboundMessage, Reply } from '../../src/core/types.js';
import type { HostRegistry } from '../../src/libvirt/hosts.js';
import { MeetingManager } from '../../src/meeting/manager.js';
import { arg, defineCommand } from '../../src/pipeline/define.js';

export const BENCH_USER = 'bench';

/** `bench noop VM`: validated, authorized and recorded like any command; does nothing. */
export const benchGroup: CommandGroup = {
  name: 'bench',
  summary: 'benchmark commands',
  commands: [
    defineCommand({
      path: ['bench', 'noop'],
      summary: 'does nothing (for measuring the pipeline)',
      args: { vm: arg.vm('a VM name').positional().required() },
      examples: [],
      async run({ args }) {
        return { reply: `nothing done to ${args.vm}` };
      },
    }),
  ],
};

export function benchConfig(dataDir: string, hosts: ConfigInput['hosts']): Config {
  return validateConfig({
    bot: { nick: 'virtbot', prefix: '!', dataDir },
    audit: { file: join(dataDir, 'audit.jsonl'), rotateBytes: 1024 ** 3, rotateDaily: false },
    hosts,
    users: { [BENCH_USER]: { local: true, roles: ['all'] } },
    roles: { all: { permissions: ['*'], description: 'everything (benchmarks)' } },
  });
}

export function benchBot(config: Config, hosts: HostRegistry): Bot {
  return new Bot({
    config,
    hosts,
    meetings: new MeetingManager({
      dataDir: config.bot.dataDir,
      minutesDir: join(config.bot.dataDir, 'minutes'),
      botNick: config.bot.nick,
    }),
    logger: pino({ level: 'silent' }),
    groups: [...allGroups(), benchGroup],
  });
}

/** Keep the bot's audit records in memory (a counter) instead of the durable file. */
export function inMemoryRecords(bot: Bot): { count: () => number; last: () => AuditRecord | undefined } {
  let count = 0;
  let last: AuditRecord | undefined;
  const keep = (record: AuditRecord) => {
    count++;
    last = record;
  };
  let n = 0;
  bot.audit.begin = async (intent) => {
    keep({ ...intent, id: `i${n}`, time: new Date().toISOString(), outcome: 'in-progress', detail: '' });
    return `i${n++}`;
  };
  bot.audit.finish = async (id, outcome) =>
    keep({ ...(last as AuditRecord), id: `o${id}`, ...outcome, time: new Date().toISOString() });
  bot.audit.record = async (single) => {
    keep({ ...single, id: `s${n}` });
    return `s${n++}`;
  };
  return { count: () => count, last: () => last };
}

/** A line typed at the console by the benchmark user, as src/transports/console.ts builds it. */
export function consoleMessage(text: string): InboundMessage {
  return {
    place: { transport: 'console', network: '', channel: '#console', private: false },
    sender: { nick: BENCH_USER, local: true },
    text,
    time: new Date(),
    addressed: true,
  };
}

/** Send one line; throw unless the first reply is a success reply matching `expect`. */
export async function send(bot: Bot, text: string, expect?: RegExp): Promise<Reply[]> {
  const replies = await bot.handle(consoleMessage(text));
  const first = replies[0];
  if (!first || first.kind === 'error' || (expect && !expect.test(first.text))) {
    throw new Error(`'${text}' answered ${JSON.stringify(replies.map((r) => r.text))}`);
  }
  return replies;
}

/** Runs `total` jobs with `concurrency` in flight; returns the wall time in ms. */
export async function pump(
  total: number,
  concurrency: number,
  job: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return performance.now() - t0;
}
