import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { allGroups } from '../commands/index.js';
import { createApp } from '../src/app.js';
import { demoConfig } from '../src/config/demo.js';

/**
 * Sopel-style examples-as-tests: every example in every command declaration runs on a fresh
 * embedded default (host 'test' on test:///default) and must give the reply it documents.
 */
const cases = allGroups().flatMap((group) =>
  group.commands.flatMap((spec) =>
    spec.examples.map((example) => ({ name: `${spec.path.join(' ')}: ${example.input}`, example })),
  ),
);

describe('command examples', () => {
  it('every command declares at least one example', () => {
    const missing = allGroups().flatMap((g) =>
      g.commands.filter((c) => c.examples.length === 0).map((c) => c.path.join(' ')),
    );
    expect(missing).toEqual([]);
  });

  it.each(cases)('$name', async ({ example }) => {
    const dir = await mkdtemp(join(tmpdir(), 'virtbot-example-'));
    const bot = await createApp(demoConfig(dir), { logger: pino({ level: 'silent' }) });
    try {
      const replies = await bot.handle({
        place: { transport: 'console', network: '', channel: '#examples', private: false },
        sender: { nick: 'alice', local: true },
        text: example.input,
        time: new Date(),
        addressed: true,
      });
      const text = replies.map((r) => r.text).join('\n');
      if (typeof example.reply === 'string') expect(text).toContain(example.reply);
      else expect(text).toMatch(example.reply);
    } finally {
      await bot.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
