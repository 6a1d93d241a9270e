/**
 * Per-VM access through the real wiring (createApp → RoleAuthorizer with the host registry's
 * <access> lookup): a user granted on a VM with `vm users add` may run that VM's
 * non-destructive commands without any role, and nothing destructive.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { Bot } from '../../src/bot.js';
import { validateConfig } from '../../src/config/load.js';

/** A regular (non-system) account on this machine; scripts/setup-libvirt.sh creates vbe2e-alice. */
function regularAccount(): string | undefined {
  try {
    const passwd = execFileSync('getent', ['passwd', 'vbe2e-alice'], { encoding: 'utf8' });
    return passwd.split(':')[0];
  } catch {
    return undefined;
  }
}
const account = regularAccount();
const reason = account ? '' : ' (skipped: no account vbe2e-alice; run scripts/setup-libvirt.sh)';

describe.skipIf(!account)(`per-VM access${reason}`, () => {
  let dir: string;
  let bot: Bot;
  const say = async (nick: string, text: string) =>
    bot.handle({
      place: { transport: 'console', network: '', channel: '#ops', private: false },
      sender: { nick, local: true },
      text,
      time: new Date(),
      addressed: true,
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virtbot-vm-access-'));
    const config = validateConfig({
      bot: { dataDir: dir },
      hosts: [{ name: 'test', uri: 'test:///default' }],
      users: { admin: { roles: ['admin'] }, carol: { system: account } },
      roles: { admin: { permissions: ['*'] } },
    });
    bot = await createApp(config, { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await bot.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('denies a user with no role and no grant', async () => {
    expect((await say('carol', 'vm info test'))[0]!.text).toMatch(/^denied/);
  });

  it('allows the VM’s non-destructive commands once the user is in its <access>, and nothing destructive', async () => {
    expect((await say('admin', `vm users add test ${account}`))[0]!.kind).not.toBe('error');
    expect((await say('carol', 'vm info test'))[0]!.text).toContain('test on test: running');
    const stop = await say('carol', 'vm stop test');
    expect(stop[0]!.text).toMatch(/^denied/);
    expect((await say('carol', 'vm list'))[0]!.text).toMatch(/^denied/);
  });
});
