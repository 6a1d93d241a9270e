import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
async function virtbot(args: string[], input = ''): Promise<Ran> {
  const child = exec(process.execPath, ['bin/virtbot.js', ...args], { timeout: 30_000 });
  child.child.stdin?.end(input);
  return child.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

let dir: string;
let config: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-cli-'));
  config = join(dir, 'virtbot.yaml');
  await writeFile(config, 'bot: { dataDir: ./data }\nhosts: [{ name: test, uri: "test:///default" }]\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('virtbot CLI', () => {
  it('prints its usage and exits 2 without a subcommand, and names an unknown one', async () => {
    expect(await virtbot([])).toMatchObject({ code: 2, stdout: expect.stringContaining('virtbot console') });
    const unknown = await virtbot(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("virtbot: unknown command 'frobnicate'");
  });

  it('reports a bad config with file and line, and no stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'hosts:\n  - name: x\n    uri: 3\n');
    const ran = await virtbot(['console', '--config', bad, '--allow-root']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/bad\.yaml:3: hosts\.0\.uri: /);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
  });

  it.runIf(process.getuid?.() === 0)(
    'refuses to run a real configuration as root unless --allow-root',
    async () => {
      const refused = await virtbot(['console', '--config', config], 'help\n');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('virtbot refuses to run as root');
      expect(refused.stdout).not.toContain('commands:');
      const allowed = await virtbot(['console', '--config', config, '--allow-root'], 'help\n');
      expect(allowed.code).toBe(0);
    },
  );

  it.runIf(process.getuid?.() === 0)(
    'only warns for the built-in demo, which touches nothing real',
    async () => {
      const demo = await virtbot(['console'], 'help\n');
      expect(demo.code).toBe(0);
      expect(demo.stderr).toContain('warning: running as root');
      expect(demo.stdout).toContain('commands:');
    },
  );
});
