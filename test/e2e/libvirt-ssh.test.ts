/**
 * End to end: a real libvirtd + QEMU (TCG) reached over a real sshd on 127.0.0.1 as an
 * unprivileged user in the libvirt group, set up by scripts/setup-libvirt.sh (run as root).
 * Every effect is checked with an independent `virsh dumpxml` (a separate local virsh process).
 * Skips, saying why, when the setup script's env file is missing.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { group as host } from '../../commands/host.js';
import { group as network } from '../../commands/network.js';
import { group as version } from '../../commands/version.js';
import { group as vm } from '../../commands/vm.js';
import { TemplateSchema } from '../../src/config/sections/hosts.js';
import type { HostBackend } from '../../src/libvirt/backend.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { SshBackend } from '../../src/libvirt/ssh.js';
import { VirshConnectionError, VirshShell } from '../../src/libvirt/virsh-shell.js';
import { parseXml } from '../../src/libvirt/xml.js';
import { makeRunner } from '../libvirt/run-command.js';
import { dumpxml, ENV_FILE, env, sshHost, virsh } from './env.js';

if (!env) {
  console.warn(
    `e2e libvirt suite skipped: ${ENV_FILE} not found — run 'sudo scripts/setup-libvirt.sh' first`,
  );
}

const TITLE = env
  ? `libvirt over SSH (${ENV_FILE})`
  : `libvirt over SSH — skipped: ${ENV_FILE} not found, run 'sudo scripts/setup-libvirt.sh'`;

describe.skipIf(!env)(TITLE, () => {
  const name = `vbe2e-${process.pid}-${Date.now().toString(36)}`;
  const name2 = `${name}-b`;
  let hosts: HostRegistry;
  let say: ReturnType<typeof makeRunner>;

  beforeAll(async () => {
    hosts = new HostRegistry({
      hosts: [sshHost()],
      templates: [
        TemplateSchema.parse({
          name: 'tiny-debian',
          distro: 'debian',
          version: '12',
          arch: 'x86_64',
          vcpus: 1,
          memory: '128M',
          disk: '64M',
          pool: env!.pool,
          networks: [env!.network],
        }),
      ],
    });
    say = makeRunner(hosts, [vm, host, network, version]);
  });

  afterAll(async () => {
    await hosts?.close();
    // Leave nothing behind, whatever happened.
    for (const vmName of [name, name2]) {
      await virsh('destroy', vmName).catch(() => undefined);
      await virsh('undefine', vmName).catch(() => undefined);
      for (const vol of ['disk0', 'vdb', 'hdb']) {
        await virsh('vol-delete', '--pool', env!.pool, `${vmName}-${vol}.qcow2`).catch(() => undefined);
      }
    }
  });

  test('version and host info come over SSH', async () => {
    expect((await say('version')).reply).toMatch(/e2e: libvirt \d+\.\d+\.\d+, QEMU \d+/);
    expect((await say('host info')).reply).toMatch(
      /^e2e \(qemu:\/\/\/system, ssh virtbot-e2e@127\.0\.0\.1:\d+\): QEMU/,
    );
    expect((await say('network list')).reply).toContain(`${env!.network} (active`);
  });

  test('create from a template, start, hotplug a NIC and a disk, change memory, grant users', async () => {
    // create
    const created = await say(`vm create ${name} template=tiny-debian`);
    expect(created.reply).toContain(`created ${name} from tiny-debian on e2e`);
    let xml = await dumpxml(name, true);
    expect(xml).toMatch(/<virtbot:vm xmlns:virtbot="urn:x-virtbot:domain:1">/);
    expect(xml).toMatch(/<virtbot:os distro="debian" version="12"\/>/);
    expect(xml).toMatch(/<virtbot:devices nicModel="virtio" diskBus="virtio"\/>/);
    expect(xml).toMatch(/<target dev='vda' bus='virtio'\/>/);
    expect(xml).toMatch(/<model type='virtio'\/>/);
    expect(xml).toMatch(/<acpi\/>/);

    // virtbot's XML round trip is exact on QEMU too: define(build(parse(dumpxml))) changes nothing
    const hv = hosts.get('e2e');
    const inactive = await hv.dumpXml(name, { inactive: true });
    await hv.define(parseXml(inactive));
    expect(await dumpxml(name, true)).toBe(inactive);

    // start
    expect((await say(`vm start ${name}`)).reply).toBe(`started ${name}`);
    expect((await virsh('domstate', name)).trim()).toBe('running');

    // hotplug a NIC: live and config
    const nic = await say(`vm nic add ${name} network=${env!.network}`);
    const mac = /added NIC (52:54:00(?::[0-9a-f]{2}){3}) \(virtio\)/.exec(nic.reply)?.[1];
    expect(nic.reply).toContain('live and in config');
    expect(mac).toBeDefined();
    for (const inactive of [false, true]) {
      xml = await dumpxml(name, inactive);
      expect(xml).toContain(`<mac address='${mac}'/>`);
      expect(xml.match(/<interface type='network'>/g)).toHaveLength(2);
    }

    // hotplug a disk: a new volume, live and config
    const disk = await say(`vm disk add ${name} size=16M`);
    expect(disk.reply).toMatch(
      /^added disk vdb \(16M, virtio, pool virtbot-e2e\) to .*, live and in config$/,
    );
    for (const inactive of [false, true]) {
      xml = await dumpxml(name, inactive);
      expect(xml).toMatch(/<target dev='vdb' bus='virtio'\/>/);
    }
    expect(await virsh('vol-list', env!.pool)).toContain(`${name}-vdb.qcow2`);

    // IDE cannot be hotplugged
    await expect(say(`vm disk add ${name} size=16M bus=ide`)).rejects.toThrow(
      /IDE disks cannot be hotplugged/,
    );

    // memory: down live and in config; above the maximum refused while running
    const mem = await say(`vm memory set ${name} 96M`);
    expect(mem.reply).toContain('now has 96M memory');
    // No guest OS, so no balloon driver: the reply must not claim the running VM shrank.
    expect(mem.reply).toContain('in config; asked the running guest to balloon to it (it still has 128M');
    expect(await dumpxml(name, true)).toMatch(/<currentMemory unit='KiB'>98304<\/currentMemory>/);
    await expect(say(`vm memory set ${name} 1G`)).rejects.toThrow(/at most 128M while .* runs/);

    // grant users and a group: only <access> in virtbot's element changes
    const before = await dumpxml(name, true);
    const [alice, bob] = env!.grantUsers;
    expect((await say(`vm users add ${name} ${alice} ${bob}`)).reply).toContain(`granted ${alice}, ${bob}`);
    expect((await say(`vm groups add ${name} ${env!.grantGroup}`)).reply).toContain(
      `granted ${env!.grantGroup}`,
    );
    await expect(say(`vm users add ${name} root`)).rejects.toThrow(/no user 'root' on host e2e/);
    for (const inactive of [false, true]) {
      xml = await dumpxml(name, inactive);
      expect(xml).toContain(`<virtbot:user>${alice}</virtbot:user>`);
      expect(xml).toContain(`<virtbot:user>${bob}</virtbot:user>`);
      expect(xml).toContain(`<virtbot:group>${env!.grantGroup}</virtbot:group>`);
    }
    const after = await dumpxml(name, true);
    const strip = (x: string) =>
      x.replace(/<virtbot:access>[\s\S]*?<\/virtbot:access>|<virtbot:access\/>/, '');
    expect(strip(after)).toBe(strip(before));
    expect((await say(`vm users list ${name}`)).reply).toBe(`${name} 2 users: ${alice}, ${bob}`);
    expect((await say(`vm users remove ${name} ${bob}`)).reply).toContain(`users now: ${alice}`);
    expect(await dumpxml(name, true)).not.toContain(`<virtbot:user>${bob}</virtbot:user>`);

    // off: remove every NIC, then a new one still gets the stored model
    expect((await say(`vm stop ${name}`)).reply).toContain('forced off');
    xml = await dumpxml(name, true);
    for (const m of xml.matchAll(/<mac address='([0-9a-f:]+)'\/>/g)) {
      expect((await say(`vm nic remove ${name} ${m[1]}`)).reply).toContain('in config');
    }
    expect(await dumpxml(name, true)).not.toContain('<interface');
    const again = await say(`vm nic add ${name} network=${env!.network}`);
    expect(again.reply).toContain('(virtio)');
    expect(await dumpxml(name, true)).toMatch(/<model type='virtio'\/>/);

    // the maximum can change while off
    expect((await say(`vm memory set ${name} 160M`)).reply).toContain('maximum raised to 160M');
    expect(await dumpxml(name, true)).toMatch(/<memory unit='KiB'>163840<\/memory>/);

    // delete with its disks
    const deleted = await say(`vm delete ${name} disks=remove`);
    expect(deleted.reply).toContain(`deleted ${name}`);
    expect(deleted.reply).toContain('removed');
    await expect(virsh('dominfo', name)).rejects.toThrow();
    expect(await virsh('vol-list', env!.pool)).not.toContain(name);
  }, 180_000);

  test('CPU, CD-ROM, NIC update, disk removal, reboot and accounts on QEMU', async () => {
    await say(`vm create ${name2} template=tiny-debian`);
    // off: the maximum vCPUs can be raised; a CD-ROM drive and an IDE disk can be added
    expect((await say(`vm cpu set ${name2} 2`)).reply).toBe(
      `${name2} now has 2 vCPUs (was 1, maximum raised to 2), in config`,
    );
    expect(await dumpxml(name2, true)).toMatch(/<vcpu placement='static'>2<\/vcpu>/);
    expect((await say(`vm cpu set ${name2} 1`)).reply).toBe(`${name2} now has 1 vCPU (was 2), in config`);
    // The maximum stays (room to hotplug); it goes down only when asked with max=.
    expect(await dumpxml(name2, true)).toMatch(/<vcpu placement='static' current='1'>2<\/vcpu>/);
    expect((await say(`vm cdrom insert ${name2} iso=${env!.iso}`)).reply).toBe(
      `added CD-ROM hda (ide) with ${env!.iso} to ${name2}, in config`,
    );
    expect((await say(`vm disk add ${name2} size=16M bus=ide`)).reply).toContain('added disk hdb (16M, ide');
    expect((await say(`vm disk remove ${name2} hdb delete=yes`)).reply).toBe(
      `removed disk hdb from ${name2}, in config, deleted /var/lib/virtbot-e2e/pool/${name2}-hdb.qcow2`,
    );
    expect(await dumpxml(name2, true)).not.toContain("dev='hdb'");
    expect(await virsh('vol-list', env!.pool)).not.toContain(`${name2}-hdb`);

    // running: media change, NIC moved to another network, model change refused
    await say(`vm start ${name2}`);
    // vCPU hotplug up to the maximum; beyond it refused while running
    expect((await say(`vm cpu set ${name2} 2`)).reply).toBe(
      `${name2} now has 2 vCPUs (was 1), live and in config`,
    );
    expect((await virsh('vcpucount', name2, '--live', '--active')).trim()).toBe('2');
    await expect(say(`vm cpu set ${name2} 3`)).rejects.toThrow(/at most 2 vCPUs while .* runs/);
    expect((await say(`vm cdrom eject ${name2}`)).reply).toBe(
      `ejected ${env!.iso} from ${name2}'s CD-ROM hda, live and in config`,
    );
    expect(await dumpxml(name2)).not.toContain(env!.iso);
    expect((await say(`vm cdrom insert ${name2} iso=${env!.iso}`)).reply).toContain('live and in config');
    expect(await dumpxml(name2)).toContain(`<source file='${env!.iso}'`);
    const mac = /<mac address='([0-9a-f:]+)'\/>/.exec(await dumpxml(name2))![1]!;
    expect((await say(`vm nic update ${name2} ${mac} network=${env!.network2}`)).reply).toBe(
      `NIC ${mac} of ${name2} now on network ${env!.network2}, live and in config`,
    );
    for (const inactive of [false, true]) {
      expect(await dumpxml(name2, inactive)).toMatch(new RegExp(`<source network='${env!.network2}'`));
    }
    await expect(say(`vm nic update ${name2} ${mac} model=e1000`)).rejects.toThrow('can only change while');
    expect((await say(`vm list host=e2e`)).lines).toContain(
      `${name2} — host e2e, running, 2 vCPUs, 128M memory`,
    );
    expect((await say(`vm reboot ${name2}`)).reply).toBe(`asked ${name2} to reboot`);
    expect((await say(`vm shutdown ${name2}`)).reply).toContain(`asked ${name2} to shut down`);

    // the host's accounts, without system accounts
    const users = await say('host users list');
    expect(users.lines).toEqual(expect.arrayContaining([...env!.grantUsers, 'virtbot-e2e']));
    expect(users.lines).not.toContain('root');
    expect((await say('host groups list')).lines).toContain(env!.grantGroup);
    expect((await say(`vm groups list ${name2}`)).reply).toBe(`${name2} has no groups`);

    expect((await say(`vm delete ${name2} disks=remove`)).reply).toMatch(
      /^deleted .* \(forced off first\); removed /,
    );
    await expect(virsh('dominfo', name2)).rejects.toThrow();
  }, 180_000);

  test('a connection dropped mid-command fails that command, then the session reconnects', async () => {
    const backend = new SshBackend(sshHost(), { backoffMs: 50 });
    try {
      await backend.shell.run('uri');
      const inFlight = backend.shell.run('list', [{ option: '--all' }]);
      backend.session.drop();
      const error = await inFlight.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VirshConnectionError);
      expect((error as Error).message).toMatch(/outcome unknown|not running|lost/);
      const again = await backend.shell.run('uri');
      expect(again.stdout.trim()).toBe(env!.uri);
      expect(backend.session.connects).toBe(2);
    } finally {
      await backend.close();
    }
  });

  test('a change whose connection dropped mid-way is checked: reported done only when it was done', async () => {
    const name3 = `${name}-c`;
    const inner = new SshBackend(sshHost());
    /** What to do to the next command line containing `match`: run it but lose the answer, or lose the command. */
    let sabotage: { match: string; mode: 'lose-answer' | 'lose-command' } | null = null;
    const shell = new VirshShell({
      host: 'e2e',
      spawn: async () => {
        const proc = await inner.session.virshProcess(env!.uri);
        let muted = false;
        const mute =
          (listener: (chunk: string) => void) =>
          (chunk: string): void => {
            if (!muted) listener(chunk);
            // The command finished on the host: now the connection drops before virtbot hears it.
            else if (chunk.includes('VBEND')) inner.session.drop();
          };
        return {
          ...proc,
          onStdout: (listener) => proc.onStdout(mute(listener)),
          onStderr: (listener) => proc.onStderr(mute(listener)),
          write(data: string) {
            const s = sabotage;
            if (s && data.includes(s.match)) {
              sabotage = null;
              muted = true;
              if (s.mode === 'lose-command') {
                setImmediate(() => inner.session.drop());
                return;
              }
            }
            proc.write(data);
          },
        };
      },
    });
    const backend: HostBackend = {
      kind: 'ssh',
      shell,
      withTempFile: (content, fn) => inner.withTempFile(content, fn),
      getent: (database) => inner.getent(database),
      close: async () => {
        await shell.close();
        await inner.close();
      },
    };
    const registry = new HostRegistry(
      { hosts: [sshHost()], templates: hosts.templates() },
      { backend: () => backend },
    );
    const say3 = makeRunner(registry, [vm]);
    try {
      await say3(`vm create ${name3} template=tiny-debian`);
      sabotage = { match: 'start --domain', mode: 'lose-answer' };
      expect((await say3(`vm start ${name3}`)).reply).toBe(
        `started ${name3} (the connection dropped mid-way; checked afterwards: done)`,
      );
      expect((await virsh('domstate', name3)).trim()).toBe('running');

      sabotage = { match: 'attach-device', mode: 'lose-answer' };
      const added = await say3(`vm nic add ${name3} mac=52:54:00:0e:2e:01 network=${env!.network}`);
      expect(added.reply).toBe(
        `added NIC 52:54:00:0e:2e:01 (virtio) on network ${env!.network} to ${name3}, checked after the connection dropped mid-way`,
      );
      expect(await dumpxml(name3)).toContain("<mac address='52:54:00:0e:2e:01'/>");

      sabotage = { match: 'attach-device', mode: 'lose-command' };
      await expect(say3(`vm nic add ${name3} mac=52:54:00:0e:2e:02 network=${env!.network}`)).rejects.toThrow(
        /checked afterwards: not done/,
      );
      expect(await dumpxml(name3)).not.toContain('52:54:00:0e:2e:02');
    } finally {
      await registry.close();
      await virsh('destroy', name3).catch(() => undefined);
      await virsh('undefine', name3).catch(() => undefined);
      await virsh('vol-delete', '--pool', env!.pool, `${name3}-disk0.qcow2`).catch(() => undefined);
    }
  }, 120_000);

  test('hostile strings reach the remote virsh as literal arguments', async () => {
    const backend = new SshBackend(sshHost());
    try {
      for (const text of [
        'a; destroy x',
        "it's",
        '"q"',
        '$(id)',
        '`id`',
        'back\\slash',
        '#c',
        '<x>&amp;</x>',
        'x'.repeat(5000),
      ]) {
        expect((await backend.shell.run('echo', [text])).stdout).toBe(text);
      }
    } finally {
      await backend.close();
    }
  });

  test('XML goes by SFTP into a private temporary file', async () => {
    const backend = new SshBackend(sshHost());
    try {
      const seen = await backend.withTempFile('<x/>', async (path) => {
        const stat = (await backend.session.exec(`stat -c '%a %U' ${path} $(dirname ${path})`))
          .trim()
          .split('\n');
        return { path, stat };
      });
      expect(seen.stat).toEqual(['600 virtbot-e2e', '700 virtbot-e2e']);
      await expect(backend.session.exec(`test -e ${seen.path}`)).rejects.toThrow();
    } finally {
      await backend.close();
    }
  });

  describe('host keys', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'virtbot-keys-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test('the configured hostKey is accepted', async () => {
      const backend = new SshBackend(sshHost({ knownHosts: undefined, hostKey: env!.ssh.hostKey }));
      try {
        expect((await backend.shell.run('uri')).stdout.trim()).toBe(env!.uri);
      } finally {
        await backend.close();
      }
    });

    test('a changed host key is refused', async () => {
      const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUtbm90LXRoZS1yZWFsLWtleS0wMDAwMDA=';
      const backend = new SshBackend(sshHost({ knownHosts: undefined, hostKey: other }));
      try {
        await expect(backend.shell.run('uri')).rejects.toThrow(/HOST KEY CHANGED/);
      } finally {
        await backend.close();
      }
    });

    test('an unknown host key is refused', async () => {
      const file = join(dir, 'known_hosts');
      writeFileSync(
        file,
        '[192.0.2.1]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUtbm90LXRoZS1yZWFsLWtleS0wMDAwMDA=\n',
      );
      const backend = new SshBackend(sshHost({ knownHosts: file }));
      try {
        await expect(backend.shell.run('uri')).rejects.toThrow(/unknown host key/);
      } finally {
        await backend.close();
      }
    });
  });
});
