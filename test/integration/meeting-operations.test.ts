import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { Bot } from '../../src/bot.js';
import { validateConfig } from '../../src/config/load.js';
import type { InboundMessage } from '../../src/core/types.js';

let dir: string;
let bot: Bot;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-meeting-ops-'));
  const config = validateConfig({
    bot: { dataDir: dir, minutesDir: join(dir, 'minutes') },
    hosts: [{ name: 'test', uri: 'test:///default' }],
    users: { alice: { roles: ['ops'] } },
    roles: { ops: { permissions: ['vm.*'] } },
  });
  bot = await createApp(config, { logger: pino({ level: 'silent' }) });
});
afterEach(async () => {
  await bot.close();
  await rm(dir, { recursive: true, force: true });
});

function line(nick: string, text: string, addressed: boolean, local = true): InboundMessage {
  return {
    place: { transport: 'transcript', network: '', channel: '#ops', private: false },
    sender: local ? { nick, local: true } : { nick },
    text,
    time: new Date(),
    addressed,
  };
}

async function findFile(root: string, suffix: string): Promise<string> {
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    // `.txt` is the text minutes, not the raw log `.log.txt` beside them.
    if (entry.isFile() && entry.name.endsWith(suffix) && !entry.name.endsWith(`.log${suffix}`))
      return join(entry.parentPath, entry.name);
  }
  throw new Error(`no ${suffix} under ${root}`);
}

describe('operations during a meeting', () => {
  it('become items of the meeting under the current topic, with their outcome, and audit records', async () => {
    await bot.handle(line('alice', '#startmeeting ops review', false));
    await bot.handle(line('alice', '#topic Capacity', false));
    expect((await bot.handle(line('alice', 'vm info test', true)))[0]!.text).toContain(
      'test on test: running',
    );
    // bob has no proof of identity here and no role: denied, and the denial is in the minutes too.
    expect((await bot.handle(line('bob', 'vm info test', true, false)))[0]!.text).toContain('denied');
    expect((await bot.handle(line('alice', 'vm info nosuchvm', true)))[0]!.kind).toBe('error');
    await bot.handle(line('alice', '#endmeeting', false));

    const minutes = await readFile(await findFile(join(dir, 'minutes'), '.txt'), 'utf8');
    const capacity = minutes.slice(minutes.indexOf('Capacity'));
    expect(capacity).toContain('alice: vm info test → ok');
    expect(capacity).toContain('bob (unidentified): vm info test → denied');
    expect(capacity).toMatch(/alice: vm info nosuchvm → failed/);

    const audit = (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.map((r: { outcome: string }) => r.outcome)).toEqual(['ok', 'denied', 'failed']);
  });

  it('are not meeting items when no meeting is open, but are still audited', async () => {
    await bot.handle(line('alice', 'vm info test', true));
    const audit = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(audit).toHaveLength(1);
    await expect(readdir(join(dir, 'minutes'))).rejects.toThrow();
  });
});
