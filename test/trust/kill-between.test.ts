/**
 * Killed between intent and outcome: a virtbot process writes the intent of a confirmed `vm stop`,
 * then hangs in the hypervisor call and is SIGKILLed. The next start finds the intent without an
 * outcome, looks at the host, and `history` says "outcome unknown" with what it found.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { readRecords } from '../../src/audit/log.js';
import { validateConfig } from '../../src/config/load.js';
import { linesOf, message } from '../harness/bot.js';
import { waitForFileLine, waitForOutput } from '../harness/util.js';

async function records(file: string) {
  const out = [];
  for await (const record of readRecords(file)) out.push(record);
  return out;
}

describe('a SIGKILL between intent and outcome', () => {
  it('is reported at the next start as outcome unknown, with what the host shows', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'virtbot-kill-'));
    const child = spawn(process.execPath, ['test/fixtures/programs/stops-forever.mjs', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForOutput(child, /^asked$/, 20_000, 'the bot to ask for confirmation');
      // The intent is durable before the hypervisor is called: wait until it is on disk.
      const file = join(dataDir, 'audit.jsonl');
      await waitForFileLine(file, /"kind":"intent"/, 20_000, 'the intent record');
      const intents = (await records(file)).filter((r) => r.kind === 'intent');
      expect(intents).toHaveLength(1);
      expect(intents[0]).toMatchObject({ path: 'vm.stop', host: 'lab', vm: 'test' });
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    const config = validateConfig({
      bot: { dataDir },
      hosts: [{ name: 'lab', uri: 'test:///default' }],
      users: { alice: { roles: ['admin'] } },
      roles: { admin: { permissions: ['*'] } },
    });
    const bot = await createApp(config, { logger: pino({ level: 'silent' }) });
    try {
      const answer = linesOf(await bot.handle(message('history vm=test', 'alice', '#ops')));
      expect(answer).toMatch(
        /\[lab\/test\] alice: vm stop test \(confirmed [A-Z2-9]{6}\) → (outcome unknown|unknown)/,
      );
      // The restart looked at the host: the test driver's VM is still running (destroy never ran).
      expect(answer).toContain('checked: test on lab is running');
    } finally {
      await bot.close();
    }
  }, 60_000);
});
