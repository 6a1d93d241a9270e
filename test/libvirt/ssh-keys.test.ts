import { createHmac, randomBytes } from 'node:crypto';
import ssh2 from 'ssh2';
import { describe, expect, test } from 'vitest';
import {
  blobType,
  checkHostKey,
  knownHostsName,
  parseKnownHosts,
  shellQuote,
} from '../../src/libvirt/ssh.js';

function newKey(): { line: string; blob: Buffer } {
  const pair = ssh2.utils.generateKeyPairSync('ed25519');
  const [type, base64] = pair.public.split(' ');
  return { line: `${type} ${base64}`, blob: Buffer.from(base64!, 'base64') };
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

describe('host key verification', () => {
  const a = newKey();
  const b = newKey();
  const name = knownHostsName('127.0.0.1', 2222);

  test('known_hosts names: bare for port 22, [host]:port otherwise', () => {
    expect(knownHostsName('h', 22)).toBe('h');
    expect(name).toBe('[127.0.0.1]:2222');
  });

  test('plain, hashed, wildcard and negated patterns', () => {
    const text = [
      '# comment',
      `other.example ${a.line}`,
      `${hashed(name)} ${a.line}`,
      `[127.0.0.*]:2222,!*.bad ${b.line}`,
      `@cert-authority * ${b.line}`,
    ].join('\n');
    const keys = parseKnownHosts(text, name);
    expect(keys.map((k) => k.blob.toString('base64'))).toEqual([
      a.blob.toString('base64'),
      b.blob.toString('base64'),
    ]);
    expect(parseKnownHosts(`[127.0.0.*]:2222,![127.0.0.1]:2222 ${a.line}`, name)).toEqual([]);
    expect(blobType(a.blob)).toBe('ssh-ed25519');
  });

  test('the trusted key is accepted, a changed one refused, an unknown host refused, a revoked key refused', () => {
    const trusted = parseKnownHosts(`${name} ${a.line}`, name);
    expect(checkHostKey(a.blob, trusted, 'h')).toBeNull();
    expect(checkHostKey(b.blob, trusted, 'h')).toMatch(/HOST KEY CHANGED/);
    expect(checkHostKey(a.blob, [], 'h')).toMatch(/unknown host key \(ssh-ed25519\)/);
    const revoked = parseKnownHosts(`@revoked ${name} ${a.line}\n${name} ${a.line}`, name);
    expect(checkHostKey(a.blob, revoked, 'h')).toMatch(/revoked/);
  });

  test('remote command arguments are shell-quoted', () => {
    expect(shellQuote("qemu:///system'; rm -rf /")).toBe(`'qemu:///system'\\''; rm -rf /'`);
    expect(() => shellQuote('a\nb')).toThrow();
  });
});
