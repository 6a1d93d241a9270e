/**
 * A long command (a disk copy, a snapshot with memory) runs on a virsh of its own over the same
 * SSH connection, so the host's other commands do not wait behind it. Shown with `virsh event
 * --timeout`, which holds its virsh until the timeout: a `list` sent after it is answered first.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import type { SshBackend } from '../../src/libvirt/ssh.js';
import { skipReason, sshHost } from './env.js';

const why = skipReason();

describe.skipIf(why !== undefined)(
  why ? `long commands on their own virsh — skipped: ${why}` : 'long commands on their own virsh',
  () => {
    const hosts = new HostRegistry({ hosts: [sshHost()] });
    afterAll(() => hosts.close());

    test('a list sent while a long command runs is answered before it', async () => {
      const hv = hosts.get('e2e');
      await hv.connect();
      const order: string[] = [];
      const wait = (long: boolean) =>
        hv
          .virsh('event', [{ option: '--all' }, { option: '--timeout', value: 3 }], {
            long,
            timeoutMs: 20_000,
          })
          .then(() => order.push('event'));
      const listed = () => hv.virsh('list', [{ option: '--name' }]).then(() => order.push('list'));

      await Promise.all([wait(true), listed()]);
      expect(order).toEqual(['list', 'event']);
      // The same on the host's one virsh: the list waits its turn (what the long lane avoids).
      order.length = 0;
      await Promise.all([wait(false), listed()]);
      expect(order).toEqual(['event', 'list']);
      // Still the one SSH connection (the long virsh was a channel on it), and the host's own
      // virsh was never restarted.
      expect((hv.backend as SshBackend).session.connects).toBe(1);
      expect(hv.backend.shell.starts).toBe(1);
    }, 60_000);
  },
);
