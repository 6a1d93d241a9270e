/**
 * End to end through the whole pipeline (createApp → bot.handle), on real QEMU behind sshd:
 * a host whose key is refused does not hold `vm list` up and is named plainly; a Kimchi VM's
 * access list is changed in Kimchi's own element, so Kimchi sees the same users.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../src/app.js';
import type { Bot } from '../../src/bot.js';
import { validateConfig } from '../../src/config/load.js';
import { dumpxml, env, removeVm, skipReason, sshHost, virsh } from './env.js';

const why = skipReason();
const run = promisify(execFile);

describe.skipIf(why !== undefined)(
  why ? `pipeline on QEMU — skipped: ${why}` : 'the pipeline on QEMU',
  () => {
    const vm = `vbpipe-${process.pid}-${Date.now().toString(36)}`;
    let dir: string;
    let bot: Bot;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'virtbot-pipe-'));
      const broken = sshHost({ privateKey: { file: env!.wrongKey! }, passphrase: undefined }, 'lab');
      const config = validateConfig({
        bot: { nick: 'virtbot', prefix: '!', dataDir: dir },
        hosts: [sshHost(), broken],
        users: { ops: { local: true, roles: ['all'] } },
        roles: { all: { permissions: ['*'], description: 'everything' } },
      });
      // A host found down stays down for the test: its next try is a minute away, however slow
      // the machine (a retry due would make the second answer "trying again now").
      bot = await createApp(config, {
        logger: pino({ level: 'silent' }),
        hostOptions: { health: { backoffMs: 60_000 } },
      });
      // A VM as Kimchi leaves it: its OS and access list in Kimchi's element.
      await run('sh', [
        '-c',
        `virsh -q -c '${env!.uri}' define /dev/stdin >/dev/null <<'EOF'\n<domain type='qemu'><name>${vm}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>\nEOF`,
      ]);
      await virsh(
        'metadata',
        vm,
        '--uri',
        'https://github.com/kimchi-project/kimchi',
        '--key',
        'kimchi',
        '--set',
        `<metadata><os distro="debian" version="12"/><access><auth type="pam"><user>${env!.grantUsers[0]}</user></auth></access></metadata>`,
        '--config',
      );
    });
    afterAll(async () => {
      await bot?.close();
      await removeVm(vm);
      await rm(dir, { recursive: true, force: true });
    });

    const say = async (text: string) => {
      const replies = await bot.handle({
        place: { transport: 'console', network: '', channel: '#ops', private: false },
        sender: { nick: 'ops', local: true },
        text,
        time: new Date(),
        addressed: true,
      });
      return replies.map((r) => r.text).join('\n');
    };

    test('vm list: the host that refuses the key is named, with the user and key tried; the other answers', async () => {
      const first = await say('vm list');
      expect(first).toMatch(/ on 2 hosts/);
      expect(first).toContain(`not reachable: lab (lab unreachable since`);
      expect(first).toContain(
        `SSH login as ${env!.ssh.user}@127.0.0.1:${env!.ssh.port} with key ${env!.wrongKey} was refused`,
      );
      // Down now: asked again, it answers at once from the breaker (no new SSH attempt).
      const lab = bot.hosts.get('lab');
      const starts = lab.backend.shell.starts;
      expect(await say('vm list')).toMatch(/lab unreachable since \d\d:\d\d, next try in \d+ s/);
      expect(lab.backend.shell.starts).toBe(starts);
      expect(bot.hosts.health().map((h) => [h.host, h.state])).toEqual([
        ['e2e', 'up'],
        ['lab', 'down'],
      ]);
    }, 60_000);

    test("vm users add on a Kimchi VM writes Kimchi's element: both tools list the same users", async () => {
      const [alice, bob] = env!.grantUsers;
      expect(await say(`vm users list ${vm} host=e2e`)).toContain(`${alice} (from Kimchi metadata)`);
      expect(await say(`vm users add ${vm} ${bob} host=e2e`)).toContain(`users now: ${alice}, ${bob}`);
      const xml = await dumpxml(vm, true);
      expect(xml).toMatch(
        new RegExp(
          `<kimchi:auth type="pam">\\s*<kimchi:user>${alice}</kimchi:user>\\s*<kimchi:user>${bob}</kimchi:user>\\s*</kimchi:auth>`,
        ),
      );
      expect(xml).toContain('<kimchi:os distro="debian" version="12"/>');
      expect(xml).not.toContain('<virtbot:access');
    }, 60_000);
  },
);
