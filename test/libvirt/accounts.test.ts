/** Which host accounts can be granted: login.defs ranges, overrides, and a short-lived cache. */
import { describe, expect, test } from 'vitest';
import { accountRanges, parseLoginDefs, TtlCache } from '../../src/libvirt/accounts.js';
import type { HostBackend } from '../../src/libvirt/backend.js';
import { Hypervisor, regularAccounts } from '../../src/libvirt/hypervisor.js';
import type { VirshShell } from '../../src/libvirt/virsh-shell.js';

/** Debian 12's passwd as far as it matters here. */
const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'alice:x:1000:1000::/home/alice:/bin/bash',
  'bob:x:1001:1001::/home/bob:/bin/bash',
  'svc:x:59999:59999::/:/usr/sbin/nologin',
  'libvirt-qemu:x:64055:108:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  '',
].join('\n');

const LOGIN_DEFS = `# /etc/login.defs
MAIL_DIR        /var/mail
UID_MIN                  1000
UID_MAX                 60000
#UID_MIN 5
GID_MIN                  1000
GID_MAX                 60000
`;

describe('login.defs', () => {
  test('numeric settings are read, comments ignored', () => {
    expect(parseLoginDefs(LOGIN_DEFS)).toEqual({
      UID_MIN: 1000,
      UID_MAX: 60000,
      GID_MIN: 1000,
      GID_MAX: 60000,
    });
  });

  test('ranges come from login.defs, then the config overrides them; a missing file gives the defaults', () => {
    expect(accountRanges('UID_MIN 2000\nUID_MAX 3000\n', {}, '/etc/login.defs')).toEqual({
      uid: { min: 2000, max: 3000 },
      gid: { min: 1000, max: 60000 },
      source: '/etc/login.defs',
    });
    expect(accountRanges(LOGIN_DEFS, { uidMax: 1000 }).uid).toEqual({ min: 1000, max: 1000 });
    expect(accountRanges(undefined).source).toBe('defaults');
  });

  test('libvirt-qemu (uid 64055, above UID_MAX) and nobody are not regular accounts', () => {
    const ranges = accountRanges(LOGIN_DEFS);
    expect(regularAccounts(PASSWD, 2, ranges.uid)).toEqual(['alice', 'bob', 'svc']);
    // The old fixed rule (uid ≥ 1000) offered libvirt-qemu.
    expect(regularAccounts(PASSWD, 2)).toContain('libvirt-qemu');
  });
});

describe('Hypervisor.users', () => {
  function host(loginDefs: string | undefined) {
    const calls = { getent: 0, readFile: 0 };
    const backend: HostBackend = {
      kind: 'local',
      shell: {} as VirshShell,
      withTempFile: async () => {
        throw new Error('unused');
      },
      getent: async (db) => {
        calls.getent++;
        return db === 'passwd' ? PASSWD : 'ops:x:1005:alice\nkvm:x:104:\n';
      },
      readFile: async () => {
        calls.readFile++;
        if (loginDefs === undefined) throw new Error('ENOENT');
        return loginDefs;
      },
      close: async () => {},
    };
    let clock = 0;
    const hv = new Hypervisor('h', 'test:///default', backend, () => {}, {
      accounts: { cacheSeconds: 30 },
      now: () => clock,
    });
    return { hv, calls, advance: (ms: number) => (clock += ms) };
  }

  test("the host's own UID_MIN decides", async () => {
    const { hv } = host('UID_MIN 1001\nUID_MAX 60000\n');
    expect(await hv.users()).toEqual(['bob', 'svc']);
    expect(await hv.groups()).toEqual(['ops']);
  });

  test('without a readable login.defs the defaults apply', async () => {
    const { hv } = host(undefined);
    expect(await hv.users()).toEqual(['alice', 'bob', 'svc']);
  });

  test('getent runs once per cache period, not once per command', async () => {
    const { hv, calls, advance } = host(LOGIN_DEFS);
    await hv.users();
    await hv.users();
    advance(29_000);
    await hv.users();
    expect(calls).toEqual({ getent: 1, readFile: 1 });
    advance(2_000);
    await hv.users();
    expect(calls).toEqual({ getent: 2, readFile: 2 });
  });
});

describe('TtlCache', () => {
  test('a failed load is not remembered', async () => {
    let n = 0;
    const cache = new TtlCache<number>(1000, () => 0);
    await expect(
      cache.get('k', async () => {
        n++;
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    expect(await cache.get('k', async () => ++n)).toBe(2);
    expect(await cache.get('k', async () => ++n)).toBe(2);
  });
});
