import { readFile } from 'node:fs/promises';
import type { Secret } from './sections/secret.js';

/** Reads a configured secret: from a file (trailing newline removed), an environment variable, or a literal. */
export async function readSecret(secret: Secret, what: string): Promise<string> {
  if ('env' in secret) {
    const value = process.env[secret.env];
    if (value === undefined || value === '')
      throw new Error(`${what}: environment variable ${secret.env} is not set`);
    return value;
  }
  if ('file' in secret) {
    const text = await readFile(secret.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${what}: cannot read ${secret.file}: ${err.code ?? err.message}`);
    });
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new Error(`${what}: ${secret.file} is empty`);
    return value;
  }
  return secret.value;
}
