/**
 * Runs chat command lines through the whole pipeline (a real Bot: identify, parse, resolve, bind,
 * target, authorize, confirm, execute, record) against a real HostRegistry, as a user who holds
 * every permission and confirms what asks for confirmation. Errors come back as rejections with
 * the one line the person would read. `host`, `vm` and `detail` come from the audit record the
 * pipeline wrote, so each call also checks that a record was written.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { confirmGroups } from '../../commands/confirm.js';
import { Bot } from '../../src/bot.js';
import type { CommandGroup } from '../../src/command/spec.js';
import { validateConfig } from '../../src/config/load.js';
import type { Reply } from '../../src/core/types.js';
import type { HostRegistry } from '../../src/libvirt/hosts.js';
import { message } from '../harness/bot.js';

export interface RunResult {
  reply: string;
  lines: string[];
  detail: string;
  host?: string;
  vm?: string;
}

export function makeRunner(hosts: HostRegistry, groups: CommandGroup[]) {
  const config = validateConfig({
    bot: { dataDir: mkdtempSync(join(tmpdir(), 'virtbot-run-')) },
    hosts: hosts.names().map((name) => hosts.config(name)),
    templates: hosts.templates(),
    users: { tester: { local: true, roles: ['all'] } },
    roles: { all: { permissions: ['*'] } },
  });
  // The confirmation commands are part of every pipeline: destructive commands need them.
  const withConfirm = [...groups, ...confirmGroups.filter((c) => !groups.some((g) => g.name === c.name))];
  const bot = new Bot({ config, hosts, logger: pino({ level: 'silent' }), groups: withConfirm });
  const send = (text: string) => bot.handle(message(text, 'tester', '#test'));
  return async (line: string): Promise<RunResult> => {
    let replies: Reply[] = await send(line);
    const code = replies.find((r) => r.confirmCode)?.confirmCode;
    if (code !== undefined) replies = await send(`confirm ${code}`);
    const reply = replies[replies.length - 1]!;
    if (reply.kind === 'error') throw new Error(reply.text);
    const [record] = await bot.audit.query({ limit: 1 });
    const out: RunResult = { reply: reply.text, lines: reply.lines ?? [], detail: record?.detail ?? '' };
    if (record?.host !== undefined) out.host = record.host;
    if (record?.vm !== undefined) out.vm = record.vm;
    return out;
  };
}
