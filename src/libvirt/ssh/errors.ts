/**
 * Why an SSH connection to a host failed, as error classes that say who tried what: the login
 * (user, host, port) and the key file, never the key.
 */
import { VirshConnectionError } from '../virsh-shell.js';

export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

/** The host refused every key virtbot offered. */
export class SshAuthError extends VirshConnectionError {
  constructor(
    readonly login: string,
    readonly keyDescription: string,
  ) {
    super(`SSH login as ${login} with key ${keyDescription} was refused (the host does not accept that key)`);
    this.name = 'SshAuthError';
  }
}

/** Nothing answered, or the connection was refused or timed out before SSH was ready. */
export class SshUnreachableError extends VirshConnectionError {
  constructor(
    readonly login: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${login} over SSH: ${reason}`);
    this.name = 'SshUnreachableError';
  }
}

/** How a configured key is named in messages: its file, or where it comes from. */
export function describeKey(
  secret: { file: string } | { env: string } | { value: string },
  path?: string,
): string {
  if ('file' in secret) return secret.file;
  if ('env' in secret) return path !== undefined ? `${path} (from $${secret.env})` : `from $${secret.env}`;
  return 'given in the config';
}

/** A socket error as a reason: "connection refused", "timed out", "no such host". */
export function socketReason(error: Error & { code?: string; level?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'no such host name';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      if (error.level === 'client-timeout') return 'no SSH handshake before the timeout';
      return error.message;
  }
}
