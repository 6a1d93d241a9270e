/**
 * What went wrong with an IRC connection, in plain words for the operator's log: a TLS
 * certificate the bot will not accept is not "connection closed", nor is a refused SASL login.
 */

const CERTIFICATE_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is not known (a missing intermediate certificate?)',
  UNABLE_TO_GET_ISSUER_CERT: 'its issuer is not known',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is not known here',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet (check the clock)',
  CERT_REVOKED: 'it has been revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'it is for another host name',
  CERT_UNTRUSTED: 'it is not trusted',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
};

/** A socket error as the reason a connection ended. */
export function describeSocketError(
  err: unknown,
  where: { host: string; port: number; tls: boolean },
): string {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const at = `${where.host}:${where.port}`;
  const certificate = CERTIFICATE_CODES[code];
  if (certificate !== undefined) {
    return `TLS certificate error: the certificate of ${at} was not accepted, ${certificate} (${code}); fix the server's certificate, or set tlsVerify: false for a test server`;
  }
  if (/SSL|TLS/.test(code) || /ssl|tls|handshake/i.test(e.message ?? '')) {
    return `TLS handshake with ${at} failed (${code || e.message}): ${
      code === 'ERR_SSL_WRONG_VERSION_NUMBER'
        ? 'the port does not speak TLS (set tls: false, or use the TLS port)'
        : "see the server's TLS settings"
    }`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${at} (nothing listens there)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${where.host} not found (${code})`;
    case 'ETIMEDOUT':
      return `connecting to ${at} timed out`;
    case 'ECONNRESET':
      return `connection reset by ${at}${where.tls ? ' (with TLS: often a plain-text port, or a TLS version mismatch)' : ''}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where.host} is unreachable (${code})`;
    default:
      return `connection closed (${code || e.message || 'socket error'})`;
  }
}

/** irc-framework's 'sasl failed' reasons, said plainly. */
export function describeSaslFailure(reason: string, account: string): string {
  switch (reason) {
    case 'fail':
      return `SASL refused: the services did not accept the password of account '${account}'`;
    case 'capability_missing':
      return 'SASL not possible: the server offers no SASL (are the services linked?)';
    case 'too_long':
      return 'SASL refused: the credentials are too long';
    case 'nick_locked':
      return `SASL refused: account '${account}' is locked`;
    case 'unsupported_mechanism':
      return 'SASL refused: the server does not accept PLAIN';
    default:
      return `SASL login failed (${reason})`;
  }
}
