/**
 * `virtbot audit export` and `audit verify` on a config with store.postgres (the real CLI,
 * bin/virtbot.js): the export is audit.jsonl as the file backend writes it, so the files'
 * verifier (verifyFiles) finds the whole chain in it, record for record; an edited export is
 * caught; and a store that cannot be reached is said in one line.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFiles } from '../../src/audit/chain.js';
import { PostgresAudit } from '../../src/store/postgres/audit.js';
import { postgresSkipReason, privatePostgresSuite } from '../harness/postgres.js';

const skip = postgresSkipReason();

function virtbot(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/virtbot.js', ...args],
      { timeout: 30_000, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.skipIf(skip !== undefined)(
  `virtbot audit export from PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const pg = privatePostgresSuite({ beforeAll, afterAll }, 'export');
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'virtbot-export-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('writes the files’ JSONL, which the files’ verifier reads whole; verify reads PostgreSQL', async () => {
      const url = await pg.database();
      const audit = new PostgresAudit({
        pool: pg.pool(url, 'writer', 4),
        instance: 'writer',
        where: 'test',
        probeMs: 0,
      });
      await audit.open();
      const base = {
        transport: 'console',
        network: '',
        channel: '#ops',
        nick: 'alice',
        proof: 'local',
        command: 'vm nic add web01',
        path: 'vm.nic.add',
        host: 'lab',
        vm: 'web01',
      };
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const id = await audit.begin({ ...base, user: 'alice' });
        await audit.finish(id, { outcome: i % 7 ? 'ok' : 'failed', detail: `nic ${i}` });
        ids.push(id);
      }
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          audit.record({
            ...base,
            user: 'bob',
            time: new Date().toISOString(),
            command: 'vm info web01',
            outcome: 'ok',
            detail: `info ${i}`,
          }),
        ),
      );
      const config = join(dir, 'pg.yaml');
      await writeFile(
        config,
        [
          `bot: { dataDir: ${join(dir, 'data')} }`,
          'hosts: [{ name: lab, uri: "test:///default" }]',
          'store: { postgres: { url: { env: VIRTBOT_PG_URL }, connectTimeoutMs: 1000 } }',
          '',
        ].join('\n'),
      );
      const env = { VIRTBOT_PG_URL: url };
      const out = join(dir, 'audit.jsonl');
      const exported = await virtbot(['audit', 'export', '--config', config, '--out', out], env);
      expect(exported).toMatchObject({ code: 0, stderr: 'exported 100 records to ' + out + '\n' });
      const report = await verifyFiles([out]);
      expect(report).toMatchObject({ ok: true, records: 100, unchained: 0, problems: [] });
      const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
      const records = lines.map((l) => JSON.parse(l) as { seq: number; id: string; kind: string });
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(records.filter((r) => r.kind === 'intent').map((r) => r.id)).toEqual(ids);
      // To stdout, the same bytes.
      const stdout = await virtbot(['audit', 'export', '--config', config], env);
      expect(stdout.stdout).toBe(await readFile(out, 'utf8'));
      expect(await virtbot(['audit', 'verify', '--config', config], env)).toMatchObject({
        code: 0,
        stdout: `ok: 100 records in PostgreSQL (${url}), the chain is whole\n`,
      });
      // An edited export is caught by the files' verifier, at the line edited.
      await writeFile(out, (await readFile(out, 'utf8')).replace('"nic 3"', '"nic 33"'));
      const edited = await verifyFiles([out]);
      expect(edited.ok).toBe(false);
      expect(edited.first).toMatchObject({
        line: 8,
        problem: 'edited: the record does not match its own hash',
      });
      await audit.close();

      // No server there: one line, exit 1.
      const down = await virtbot(['audit', 'export', '--config', config], {
        VIRTBOT_PG_URL: 'postgres://virtbot@127.0.0.1:1/none',
      });
      expect(down.code).toBe(1);
      expect(down.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(down.stderr).toMatch(/^virtbot: .*ECONNREFUSED/);
    });
  },
);
