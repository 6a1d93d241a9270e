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
  const log = createLogger({ file, level: 'info', sync: true });
  write(log);
  log.info('END-OF-TEST');
  // A synchronous destination: every line is on disk when the call returns.
  const text = await readFile(file, 'utf8');
  expect(text).toContain('END-OF-TEST');
  return text;
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
