/**
 * Through the whole pipeline, on real QEMU behind sshd: a NIC added while QEMU is stopped and the
 * SSH session is cut mid-change is answered "in progress on the host" (never "not done"), and
 * once QEMU runs again the outcome is said in the same place to who asked and recorded against
 * the command's intent: intent → in-progress → ok.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Place, Reply } from '../../src/core/types.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import type { SshBackend } from '../../src/libvirt/ssh.js';
import { kindOrOutcome, startBot, type TestBot } from '../harness/bot.js';
import { dumpxml, env, jobHeld, qemuPid, skipReason, sshHost, tinyVm, until, withTimeout } from './env.js';

const why = skipReason();

describe.skipIf(why !== undefined)(
  why ? `follow-ups of changes in progress — skipped: ${why}` : 'follow-ups of changes in progress',
  () => {
    const vm = `vbfol-${process.pid}-${Date.now().toString(36)}`;
    let remove: () => Promise<void> = async () => {};
    let t: TestBot;
    let hosts: HostRegistry;
    const said: { place: Place; replies: Reply[] }[] = [];
    let heard: (() => void) | undefined;

    beforeAll(async () => {
      remove = await tinyVm(vm);
      const host = sshHost();
      hosts = new HostRegistry({ hosts: [host] });
      t = await startBot(
        {
          hosts: [host],
          users: { alice: { roles: ['ops'] } },
          roles: { ops: { permissions: ['*'] } },
        },
        { hosts },
      );
      t.bot.announceWith(async (place, replies) => {
        said.push({ place, replies });
        heard?.();
      });
    }, 60_000);
    afterAll(async () => {
      await t?.close();
      await remove();
    });

    test('in progress, then said and recorded once it settled', async () => {
      const hv = hosts.get('e2e');
      await hv.connect();
      const mac = '52:54:00:0e:0f:01';
      const settledSaid = new Promise<void>((resolve) => {
        heard = resolve;
      });
      // QEMU hangs at the hotplug itself: stopped just as virtbot sends attach-device, and the
      // SSH session cut once libvirt holds the job (virtbot cannot know how it ends).
      const shell = hv.backend.shell;
      const send = shell.run.bind(shell);
      let resume: () => void = () => {};
      shell.run = (command, args, options) => {
        if (command !== 'attach-device') return send(command, args, options);
        return qemuPid(vm).then((pid) => {
          process.kill(pid, 'SIGSTOP');
          resume = () => process.kill(pid, 'SIGCONT');
          const sent = send(command, args, options);
          void until('libvirt to hold the job', () => jobHeld(vm)).then(() =>
            (hv.backend as SshBackend).session.drop(),
          );
          return sent;
        });
      };
      let reply: string;
      try {
        reply = await t.text(`vm nic add ${vm} network=${env!.network} mac=${mac}`, 'alice', '#ops');
      } finally {
        shell.run = send;
        resume();
      }
      expect(reply).toMatch(new RegExp(`^added NIC ${mac} \\(virtio\\) .* in progress on the host: `));
      expect(reply).not.toMatch(/not done/);
      await withTimeout(settledSaid, 60_000, 'the follow-up');
      expect(said[0]!.place).toMatchObject({ channel: '#ops' });
      expect(said[0]!.replies[0]!.text).toBe(
        `alice: NIC ${mac} is now attached to ${vm} (live and in config)`,
      );
      // The NIC really is there, live and in config.
      expect(await dumpxml(vm)).toContain(mac);
      expect(await dumpxml(vm, true)).toContain(mac);
      const records = (await t.records()).filter((r) => r.path === 'vm.nic.add');
      expect(records.map(kindOrOutcome)).toEqual(['intent', 'in-progress', 'ok']);
      expect(records[1]!.intent).toBe(records[0]!.id);
      expect(records[2]!.intent).toBe(records[0]!.id);
    }, 120_000);
  },
);
