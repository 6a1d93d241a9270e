import { createServer } from 'node:net';
import ssh2 from 'ssh2';
import { expect, test } from 'vitest';
import { SshSchema } from '../../src/config/sections/hosts.js';
import { SshSession } from '../../src/libvirt/ssh.js';
import { VirshConnectionError } from '../../src/libvirt/virsh-shell.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

test('reconnection backs off exponentially after failures', async () => {
  const key = ssh2.utils.generateKeyPairSync('ed25519');
  const port = await closedPort();
  const session = new SshSession(
    'h',
    SshSchema.parse({
      host: '127.0.0.1',
      port,
      user: 'nobody',
      privateKey: { value: key.private, insecure: true },
      hostKey: key.public,
    }),
    { backoffMs: 200, maxBackoffMs: 400 },
  );
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    await expect(session.connection()).rejects.toThrow(VirshConnectionError);
    times.push(performance.now() - t0);
  }
  expect(times[0]).toBeLessThan(150);
  expect(times[1]).toBeGreaterThanOrEqual(190);
  expect(times[2]).toBeGreaterThanOrEqual(390);
  expect(times[3]).toBeGreaterThanOrEqual(390);
  expect(times[3]).toBeLessThan(1000);
  expect(session.lastError).toBe(`cannot reach nobody@127.0.0.1:${port} over SSH: connection refused`);
  await session.close();
  await expect(session.connection()).rejects.toThrow('closed');
});
