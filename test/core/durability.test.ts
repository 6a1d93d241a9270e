import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-durability-'));
  await writeFile(
    join(dir, 'virtbot.yaml'),
    [
      'bot: { dataDir: ./data }',
      'hosts: [{ name: test, uri: "test:///default" }]',
      'users: { alice: { roles: [ops] } }',
      "roles: { ops: { permissions: ['*'] } }",
    ].join('\n'),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('audit durability', () => {
  it('keeps every acknowledged command when virtbot is SIGKILLed right after the last reply', async () => {
    const commands = 60;
    const child = spawn(
      process.execPath,
      ['bin/virtbot.js', 'console', '--as', 'alice', '--config', join(dir, 'virtbot.yaml'), '--allow-root'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    // `help` answers with exactly one line, so N lines out means N commands acknowledged.
    for (let i = 0; i < commands; i++) child.stdin.write(i % 2 === 0 ? 'help\n' : 'whatever-unknown\n');
    let seen = 0;
    let buffered = '';
    const killed = new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        seen = buffered.split('\n').length - 1;
        if (seen >= commands) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`virtbot exited early (${code}): ${buffered}`));
      });
    });
    await killed;
    const lines = (await readFile(join(dir, 'data', 'audit.jsonl'), 'utf8')).trim().split('\n');
    const records = lines.map(
      (line) => JSON.parse(line) as { command: string; outcome: string; user: string },
    );
    expect(records.length).toBeGreaterThanOrEqual(commands);
    expect(records.slice(0, commands).map((r) => r.command)).toEqual(
      Array.from({ length: commands }, (_, i) => (i % 2 === 0 ? 'help' : 'whatever-unknown')),
    );
    expect(records.every((r) => r.user === 'alice')).toBe(true);
    expect(records.filter((r) => r.outcome === 'invalid')).toHaveLength(commands / 2);
  });
});
