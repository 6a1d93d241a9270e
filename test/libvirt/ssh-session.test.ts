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
  const delays: number[] = [];
  const session = new SshSession(
    'h',
    SshSchema.parse({
      host: '127.0.0.1',
      port,
      user: 'nobody',
      privateKey: { value: key.private, insecure: true },
      hostKey: key.public,
    }),
    {
      backoffMs: 200,
      maxBackoffMs: 400,
      delay: async (ms) => {
        delays.push(ms);
      },
    },
  );
  for (let i = 0; i < 4; i++) {
    await expect(session.connection()).rejects.toThrow(VirshConnectionError);
  }
  // No wait before the first try; then 200, 400, 400 (capped).
  expect(delays).toEqual([200, 400, 400]);
  expect(session.lastError).toBe(`cannot reach nobody@127.0.0.1:${port} over SSH: connection refused`);
  await session.close();
  await expect(session.connection()).rejects.toThrow('closed');
});
