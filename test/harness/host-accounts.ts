/**
 * Hosts whose account database (`getent passwd|group`) is a fixture: the people of
 * config/example.yaml as regular accounts, `libvirt-qemu` as a system account, and the system
 * group `kimchi`. Everything else is the real local virsh on the configured test:/// URI.
 */

import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { LocalBackend } from '../../src/libvirt/backend.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'libvirt-qemu:x:64055:108:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin',
  'alinefm:x:1001:1001::/home/alinefm:/bin/bash',
  'royce:x:1002:1002::/home/royce:/bin/bash',
  'shaohef:x:1003:1003::/home/shaohef:/bin/bash',
  'adamkingit:x:1004:1004::/home/adamkingit:/bin/bash',
].join('\n');

export const GROUP = ['root:x:0:', 'kvm:x:108:libvirt-qemu', 'kimchi:x:2000:royce,shaohef'].join('\n');

class FixtureAccounts extends LocalBackend {
  override getent(database: 'passwd' | 'group'): Promise<string> {
    return Promise.resolve(database === 'passwd' ? PASSWD : GROUP);
  }
}

/** A registry over the config's hosts, with the fixture account database on each. */
export function hostsWithAccounts(input: ConfigInput): HostRegistry {
  const config = validateConfig({ ...input, bot: { dataDir: '/nonexistent' } });
  return new HostRegistry(config, {
    backend: (host) => new FixtureAccounts({ host: host.name, uri: host.uri }),
  });
}
