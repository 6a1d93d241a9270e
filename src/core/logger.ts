import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Logger, pino } from 'pino';

const SECRET_KEY = /^(password|passphrase|token|privatekey|secret|apikey|authorization)$/i;
const MAX_DEPTH = 10;

/**
 * Replaces secret-looking fields at any depth, so that logging a whole config section or an
 * error carrying its options cannot leak a token or a password. A literal secret in the config
 * (`{ value: …, insecure: true }`) is recognised by its shape.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  const literalSecret = record['insecure'] === true && 'value' in record;
  for (const [key, v] of Object.entries(record)) {
    out[key] =
      SECRET_KEY.test(key) || (literalSecret && key === 'value') ? '[secret]' : redactSecrets(v, depth + 1);
  }
  return out;
}

/**
 * Structured logs for operators. Interactive modes (console, transcripts) log to a file so that
 * the person sees only replies. `sync` writes each line before the call returns (tests, short runs).
 */
export function createLogger(options: { file?: string; level?: string; sync?: boolean } = {}): Logger {
  const level = options.level ?? process.env['VIRTBOT_LOG_LEVEL'] ?? 'info';
  const formatters = {
    log: (object: Record<string, unknown>) => redactSecrets(object) as Record<string, unknown>,
  };
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    return pino(
      { level, formatters },
      pino.destination({ dest: options.file, sync: options.sync ?? false, mkdir: true }),
    );
  }
  return pino({ level, formatters }, pino.destination(2));
}
