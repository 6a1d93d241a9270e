/**
 * A real Bot for tests, driven through its whole pipeline with InboundMessages, as a transport
 * drives it: identify → meeting → parse → resolve → bind → target → authorize → confirm → execute
 * → record. Nothing here calls a command handler. Each bot gets a private data directory; its
 * audit log is read back from disk.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseLine } from '../../src/audit/chain.js';
import type { AuditLog } from '../../src/audit/log.js';
import { readRecords } from '../../src/audit/log.js';
import { Bot } from '../../src/bot.js';
import type { CommandGroup } from '../../src/command/spec.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import type { AuditRecord, InboundMessage, Place, Reply, Sender } from '../../src/core/types.js';
import { HostRegistry, type HostRegistryOptions } from '../../src/libvirt/hosts.js';
import { MeetingManager } from '../../src/meeting/manager.js';
import { openStores, type Stores } from '../../src/store/open.js';
import type { PostgresAudit } from '../../src/store/postgres/audit.js';

/** Who says a line: a configured user's name (proven locally, like the console), or a sender. */
export type Speaker = string | Sender;

/** Where: a channel name, 'private', or a full place. */
export type Where = string | Place;

export interface TestBot {
  bot: Bot;
  config: Config;
  dataDir: string;
  /** Says `text` to the bot (addressed) and returns the replies. */
  say(text: string, who?: Speaker, where?: Where): Promise<Reply[]>;
  /** The replies as the lines a person reads. */
  text(text: string, who?: Speaker, where?: Where): Promise<string>;
  /** Says `text`; if the bot asks for a confirmation code, confirms it as the same person. */
  confirmed(text: string, who?: Speaker, where?: Where): Promise<string>;
  /** Every audit record on disk, oldest first. */
  records(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export interface TestBotOptions {
  groups?: CommandGroup[];
  hostOptions?: HostRegistryOptions;
  /** An existing registry (its sessions are closed with the bot). */
  hosts?: HostRegistry;
  meetings?: boolean;
  now?: () => Date;
  /** Where the bot keeps its records (default: files in its data directory). */
  stores?: Stores | ((config: Config) => Promise<Stores>);
}

export function placeOf(where: Where | undefined, who: Sender): Place {
  if (typeof where === 'object') return where;
  if (where === 'private') return { transport: 'console', network: '', channel: who.nick, private: true };
  return { transport: 'console', network: '', channel: where ?? '#ops', private: false };
}

function senderOf(who: Speaker | undefined): Sender {
  if (who === undefined) return { nick: 'tester', local: true };
  return typeof who === 'string' ? { nick: who, local: true } : who;
}

export function message(text: string, who?: Speaker, where?: Where): InboundMessage {
  const sender = senderOf(who);
  const place = placeOf(where, sender);
  return { place, sender, text, time: new Date(), addressed: true, replyPrefix: place.private ? '' : '!' };
}

export function linesOf(replies: Reply[]): string {
  return replies.flatMap((r) => [r.text, ...(r.lines ?? [])]).join('\n');
}

export async function startBot(input: ConfigInput, options: TestBotOptions = {}): Promise<TestBot> {
  const dataDir = mkdtempSync(join(tmpdir(), 'virtbot-test-'));
  const config = validateConfig({ ...input, bot: { ...(input.bot ?? {}), dataDir } });
  const hosts = options.hosts ?? new HostRegistry(config, options.hostOptions ?? {});
  const stores = typeof options.stores === 'function' ? await options.stores(config) : options.stores;
  const bot = new Bot({
    ...(stores ? { stores } : {}),
    config,
    hosts,
    logger: pino({ level: 'silent' }),
    ...(options.groups ? { groups: options.groups } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.meetings
      ? {
          meetings: new MeetingManager({
            dataDir,
            minutesDir: join(dataDir, 'minutes'),
            botNick: config.bot.nick,
            ...(stores?.kind === 'postgres' ? { journals: stores.journals } : {}),
          }),
        }
      : {}),
  });
  const say = (text: string, who?: Speaker, where?: Where) => bot.handle(message(text, who, where));
  return {
    bot,
    config,
    dataDir,
    say,
    text: async (text, who, where) => linesOf(await say(text, who, where)),
    async confirmed(text, who, where) {
      const first = await say(text, who, where);
      const code = first.find((r) => r.confirmCode)?.confirmCode;
      if (code === undefined) return linesOf(first);
      return linesOf(await say(`confirm ${code}`, who, where));
    },
    async records() {
      const out: AuditRecord[] = [];
      if (bot.stores.kind === 'postgres') {
        for await (const line of (bot.audit as PostgresAudit).lines()) {
          const parsed = parseLine(line, false);
          if (parsed.kind === 'chained') out.push(parsed.record);
        }
        return out;
      }
      for (const file of await (bot.audit as AuditLog).files())
        for await (const r of readRecords(file)) out.push(r);
      return out;
    },
    async close() {
      await bot.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Keeps a bot's audit records in memory (suites about what gets through, not about fdatasync):
 * every intent, outcome and one-shot record the pipeline writes is handed to `onRecord` as the
 * store would have written it.
 */
export function auditInMemory(bot: Bot, onRecord: (record: AuditRecord) => void): void {
  let n = 0;
  const intents = new Map<string, AuditRecord>();
  const id = () => `mem-${(n++).toString(36)}`;
  bot.audit.begin = async (intent) => {
    const { time, ...rest } = intent;
    const record: AuditRecord = {
      ...rest,
      id: id(),
      time: (time ?? new Date()).toISOString(),
      outcome: 'in-progress',
      detail: 'about to run',
      kind: 'intent',
    };
    intents.set(record.id, record);
    onRecord(record);
    return record.id;
  };
  bot.audit.finish = async (intentId, outcome) => {
    const { args: _args, ...intent } = intents.get(intentId)!;
    onRecord({
      ...intent,
      id: id(),
      kind: 'outcome',
      intent: intentId,
      outcome: outcome.outcome,
      detail: outcome.detail,
    });
  };
  bot.audit.record = async (single) => {
    const record: AuditRecord = { ...single, id: single.id ?? id(), kind: 'single' };
    onRecord(record);
    return record.id;
  };
}

/** How a record reads in a list of a turn's records: 'intent' for an intent, else its outcome. */
export function kindOrOutcome(record: AuditRecord): string {
  return record.kind === 'intent' ? 'intent' : record.outcome;
}

/**
 * A bot on the stores its config names (store.postgres: the shared database, migrated), started
 * (its audit opened and recovered) as createApp starts one.
 */
export async function startStoredBot(input: ConfigInput, options: TestBotOptions = {}): Promise<TestBot> {
  const t = await startBot(input, { ...options, stores: (config) => openStores(config) });
  await t.bot.start();
  return t;
}
