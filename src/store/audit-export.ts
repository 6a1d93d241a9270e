/**
 * `virtbot audit export` and `audit verify` on whichever store the config names. Export writes
 * the records as the lines of the file backend's audit.jsonl (seq, prev and hash included, in
 * chain order), so tools that read the files — `verifyFiles` among them — read an export of
 * PostgreSQL just the same. Only reads: no migration, no presence, one small pool.
 */

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { AuditLog } from '../audit/log.js';
import type { AuditStore } from '../audit/store.js';
import { readSecret } from '../config/read-secret.js';
import type { Config } from '../config/schema.js';
import { redactUrl } from './open.js';
import { PostgresAudit } from './postgres/audit.js';
import { createPool } from './postgres/db.js';

interface Opened {
  audit: AuditStore;
  lines(): AsyncIterable<string>;
  where: string;
  close(): Promise<void>;
}

/** The config's audit store, for reading. */
export async function openAuditForReading(config: Config): Promise<Opened> {
  const pgConfig = config.store.postgres;
  if (!pgConfig) {
    const file = config.audit.file ?? join(config.bot.dataDir, 'audit.jsonl');
    const audit = new AuditLog({ file });
    return {
      audit,
      where: file,
      async *lines() {
        for (const path of await audit.files()) {
          const input = createInterface({
            input: createReadStream(path, 'utf8'),
            crlfDelay: Number.POSITIVE_INFINITY,
          });
          for await (const line of input) if (line.trim() !== '') yield line;
        }
      },
      close: () => audit.close(),
    };
  }
  const url = await readSecret(pgConfig.url, 'store.postgres url');
  const where = redactUrl(url);
  const pool = createPool({
    url,
    instance: 'audit-export',
    max: 2,
    connectTimeoutMs: pgConfig.connectTimeoutMs,
    statementTimeoutMs: 0,
  });
  const audit = new PostgresAudit({ pool, instance: 'audit-export', where, probeMs: 0 });
  return {
    audit,
    where,
    lines: () => audit.lines(),
    close: async () => {
      await audit.close().catch(() => undefined);
      await pool.end();
    },
  };
}

/** Writes every record, one line each, to `out`; resolves with how many. */
export async function exportAudit(config: Config, out: Writable): Promise<number> {
  const opened = await openAuditForReading(config);
  let n = 0;
  try {
    for await (const line of opened.lines()) {
      n++;
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    }
  } finally {
    await opened.close();
  }
  return n;
}
