import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = 'test/transcripts';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.chat'))
  .sort();

/** Each transcript runs through the real CLI (`virtbot test`), as a team's runbook would. */
describe('transcripts', () => {
  it('there are transcripts to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    // A transcript with a config beside it (NAME.yaml) runs with that config; others on the demo.
    const config = join(dir, file.replace(/\.chat$/, '.yaml'));
    const args = [
      'bin/virtbot.js',
      'test',
      // A real config is refused as root (CI runs as root); the demo only warns.
      ...(existsSync(config) ? ['--config', config, '--allow-root'] : []),
      join(dir, file),
    ];
    const result = await run(process.execPath, args, { timeout: 60_000 }).catch(
      (error: { stdout?: string; stderr?: string }) => error,
    );
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    expect(output, output).toContain('1 passed, 0 failed');
  });
});

describe('virtbot test itself', () => {
  it('fails on a mismatch and prints a readable diff', async () => {
    const error = await run(process.execPath, ['bin/virtbot.js', 'test', 'test/fixtures/failing.chat']).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stdout).toContain(
      "test/fixtures/failing.chat:4: expected a reply containing 'no such reply'",
    );
    expect(error?.stdout).toContain('2| commands:');
    expect(error?.stdout).toContain('0 passed, 1 failed');
  });

  it('rejects a line it cannot read', async () => {
    const error = await run(process.execPath, [
      'bin/virtbot.js',
      'test',
      'test/fixtures/unreadable.chat',
    ]).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stdout).toContain(
      'test/fixtures/unreadable.chat:2: cannot read this line: alice said hello',
    );
  });
});
