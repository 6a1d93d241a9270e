import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-secrets-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function logged(write: (log: ReturnType<typeof createLogger>) => void): Promise<string> {
  const file = join(dir, 'virtbot.log');
  const log = createLogger({ file, level: 'info' });
  write(log);
  log.info('END-OF-TEST');
  // The destination is asynchronous: wait until the last line is on disk.
  for (let i = 0; i < 200; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.includes('END-OF-TEST')) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the log was never written');
}

describe('logger redaction', () => {
  it('redacts passwords, tokens, passphrases and private keys at the top level and one level down', async () => {
    const text = await logged((log) => {
      log.info(
        { password: 'SECRET-1', token: 'SECRET-2', passphrase: 'SECRET-3', privateKey: 'SECRET-4' },
        'top',
      );
      log.info(
        {
          sasl: { password: 'SECRET-5' },
          discord: { token: 'SECRET-6' },
          ssh: { passphrase: 'SECRET-7', privateKey: 'SECRET-8' },
        },
        'nested',
      );
      log.info({ user: 'alice', command: 'vm list' }, 'plain');
    });
    expect(text).not.toMatch(/SECRET-\d/);
    expect(text.match(/\[secret\]/g)).toHaveLength(8);
    expect(text).toContain('"command":"vm list"');
  });

  // A whole config section logged must not leak what is deep inside it.
  it('redacts secrets nested two levels down', async () => {
    const text = await logged((log) => log.info({ config: { irc: { password: 'SECRET-9' } } }, 'deep'));
    expect(text).not.toContain('SECRET-9');
  });
});
