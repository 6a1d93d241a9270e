/**
 * The command line's refusals: `check-config`, `audit verify`, root for `test`, a data directory
 * virtbot cannot write, and a missing secret at `run`.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { IS_ROOT, mountTmpfs, ROOT_REASON } from '../audit/mounts.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function virtbot(
  args: string[],
  options: { input?: string; uid?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['bin/virtbot.js', ...args],
      {
        timeout: 30_000,
        ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
        env: options.env ?? process.env,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-cli-checks-'));
  await chmod(dir, 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function config(name: string, lines: string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o644 });
  return file;
}

describe('virtbot check-config', () => {
  it('lists each error and warning with file:line and exits 1; a good config exits 0', async () => {
    const bad = await config('bad.yaml', [
      'hosts: [{ name: test, uri: "test:///default" }]',
      'users:',
      '  alice: { roles: [ops] }',
      'roles: { viewer: { permissions: [vm.list] } }',
    ]);
    const refused = await virtbot(['check-config', bad]);
    expect(refused).toMatchObject({ code: 1, stderr: '' });
    expect(refused.stdout).toBe(
      [
        `error: ${bad}:3: users.alice.roles.0: role 'ops' is not defined under roles`,
        `warning: ${bad}:4: roles.viewer: nobody holds role 'viewer' (no user, group with members, Discord role or anonymous)`,
        `${bad}: refused (1 error, 1 warning)`,
        '',
      ].join('\n'),
    );
    const good = await virtbot(['check-config', '--skip-secrets', 'config/example.yaml']);
    expect(good).toMatchObject({ code: 0, stdout: 'config/example.yaml: ok (0 errors, 0 warnings)\n' });
  });
});

describe('virtbot run with a secret that is not there', () => {
  it('refuses to start, naming the setting and its line, instead of logging "virtbot ready"', async () => {
    const file = await config('discord.yaml', [
      'bot: { dataDir: ./data-run }',
      'hosts: [{ name: test, uri: "test:///default" }]',
      'discord:',
      '  - name: team',
      '    guildId: "112233445566778899"',
      '    token: { env: VIRTBOT_CLI_TEST_TOKEN }',
    ]);
    const env = { ...process.env };
    delete env['VIRTBOT_CLI_TEST_TOKEN'];
    const ran = await virtbot(['run', '--config', file, '--allow-root'], { env });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      `virtbot: ${file}:6: discord.0.token: environment variable VIRTBOT_CLI_TEST_TOKEN is not set: the secret must be readable at start\n`,
    );
    expect(ran.stdout + ran.stderr).not.toContain('ready');
  });
});

describe('virtbot audit verify', () => {
  it('says the chain is whole, then names the first broken link of an edited log', async () => {
    const data = join(dir, 'data-verify');
    const file = await config('verify.yaml', [
      'bot: { dataDir: ./data-verify }',
      'hosts: [{ name: test, uri: "test:///default" }]',
    ]);
    const log = new AuditLog({ file: join(data, 'audit.jsonl'), minFreeBytes: 0 });
    for (let i = 1; i <= 5; i++) {
      await log.record({
        id: `r${i}`,
        time: new Date().toISOString(),
        transport: 'console',
        network: '',
        channel: '#console',
        user: 'alice',
        nick: 'alice',
        proof: 'local',
        command: 'vm list',
        outcome: 'ok',
        detail: `listed ${i}`,
      });
    }
    await log.close();
    expect(await virtbot(['audit', 'verify', '--config', file])).toMatchObject({
      code: 0,
      stdout: 'ok: 5 records in 1 file, the chain is whole\n',
    });
    const path = join(data, 'audit.jsonl');
    await writeFile(path, (await readFile(path, 'utf8')).replace('listed 3', 'listed 33'));
    const broken = await virtbot(['audit', 'verify', '--config', file]);
    expect(broken.code).toBe(1);
    expect(broken.stdout.split('\n')[0]).toBe(
      `broken: ${path}:3 (record r3): edited: the record does not match its own hash`,
    );
  });
});

describe.skipIf(!IS_ROOT)(`refusals that depend on who runs virtbot${ROOT_REASON}`, () => {
  it('virtbot test --config refuses root like console and run do', async () => {
    const file = await config('test.yaml', ['hosts: [{ name: test, uri: "test:///default" }]']);
    const ran = await virtbot(['test', '--config', file, 'test/transcripts/help.chat']);
    expect(ran.code).toBe(2);
    expect(ran.stderr.split('\n')[0]).toBe(
      'virtbot: virtbot refuses to run as root: run it as an unprivileged user (or pass --allow-root)',
    );
    expect(ran.stdout).toBe('');
  });

  it('a read-only data directory is a one-line error at start (EROFS)', async () => {
    const mount = await mountTmpfs(64);
    try {
      await mkdir(join(mount.dir, 'data'));
      const { execFile: run } = await import('node:child_process');
      await new Promise<void>((resolve, reject) =>
        run('mount', ['-o', 'remount,ro', mount.dir], (error) => (error ? reject(error) : resolve())),
      );
      const file = await config('ro.yaml', [
        `bot: { dataDir: ${join(mount.dir, 'data')} }`,
        'hosts: [{ name: test, uri: "test:///default" }]',
      ]);
      const ran = await virtbot(['console', '--config', file, '--allow-root'], { input: 'help\n' });
      expect(ran).toEqual({
        code: 1,
        stdout: '',
        stderr: `virtbot: data directory ${join(mount.dir, 'data')} is not writable: EROFS\n`,
      });
    } finally {
      await mount.unmount();
    }
  });

  it('a data directory owned by someone else is a one-line error at start (EACCES), not an unhandled error event', async () => {
    const data = join(dir, 'root-owned-data');
    await mkdir(data, { mode: 0o755 });
    const file = await config('eacces.yaml', [
      `bot: { dataDir: ${data} }`,
      'hosts: [{ name: test, uri: "test:///default" }]',
    ]);
    const ran = await virtbot(['console', '--config', file], { input: 'help\n', uid: 65534 });
    expect(ran).toEqual({
      code: 1,
      stdout: '',
      stderr: `virtbot: data directory ${data} is not writable: EACCES\n`,
    });
  });
});
