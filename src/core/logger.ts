import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Logger, pino } from 'pino';

/**
 * Structured logs for operators. Secrets never reach them: fields that may carry one are redacted.
 * Interactive modes (console, transcripts) log to a file so that the person sees only replies.
 */
export function createLogger(options: { file?: string; level?: string } = {}): Logger {
  const level = options.level ?? process.env['VIRTBOT_LOG_LEVEL'] ?? 'info';
  const redact = {
    paths: [
      'password',
      'token',
      'passphrase',
      'privateKey',
      '*.password',
      '*.token',
      '*.passphrase',
      '*.privateKey',
    ],
    censor: '[secret]',
  };
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    return pino({ level, redact }, pino.destination({ dest: options.file, sync: false, mkdir: true }));
  }
  return pino({ level, redact }, pino.destination(2));
}
