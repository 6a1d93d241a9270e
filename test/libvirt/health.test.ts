/**
 * The circuit breaker per host: a host that cannot be reached answers at once with where it
 * stands, is tried again in the background with backoff, and never holds up another host.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { HostSchema } from '../../src/config/sections/hosts.js';
import type { HostBackend } from '../../src/libvirt/backend.js';
import { HostDownError } from '../../src/libvirt/health.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { Hypervisor } from '../../src/libvirt/hypervisor.js';
import { SshAuthError } from '../../src/libvirt/ssh/errors.js';
import { plainError } from '../../src/libvirt/virsh/errors.js';
import { VirshShell } from '../../src/libvirt/virsh-shell.js';
import { NO_VIRSH, NO_VIRSH_REASON } from './have-virsh.js';

/** A host whose virsh fails to start while `broken`, with a clock and a hand-run scheduler. */
function flakyHost(start = new Date(2030, 0, 1, 12, 3, 0).getTime()) {
  let clock = start;
  let broken = true;
  let spawns = 0;
  const scheduled: { fn: () => Promise<void>; ms: number }[] = [];
  const shell = new VirshShell({
    host: 'lab',
    spawn: async () => {
      spawns++;
      if (broken) {
        throw new SshAuthError('virtbot@192.0.2.7:22', '/etc/virtbot/lab_ed25519');
      }
      let onOut: (c: string) => void = () => {};
      let onErr: (c: string) => void = () => {};
      return {
        write(data: string) {
          for (const line of data.split('\n').filter(Boolean)) {
            onOut(`virsh # ${line}\n`);
            const marker = /^echo --err 'VBEND' '([0-9a-f]+)'$/.exec(line);
            if (marker) onErr(`error: VBEND ${marker[1]}\n`);
            else onOut('test:///default\n');
          }
        },
        onStdout: (l) => {
          onOut = l;
        },
        onStderr: (l) => {
          onErr = l;
        },
        onClose: () => {},
        kill: () => {},
      };
    },
  });
  const backend: HostBackend = {
    kind: 'ssh',
    shell,
    withTempFile: async (_c, fn) => fn('/tmp/x'),
    getent: async () => '',
    close: () => shell.close(),
  };
  const hv = new Hypervisor('lab', 'qemu:///system', backend, () => {}, {
    now: () => clock,
    health: {
      backoffMs: 1000,
      maxBackoffMs: 8000,
      random: () => 0.5,
      schedule: (fn, ms) => {
        const entry = { fn, ms };
        scheduled.push(entry);
        return () => {
          const at = scheduled.indexOf(entry);
          if (at >= 0) scheduled.splice(at, 1);
        };
      },
    },
  });
  return {
    hv,
    scheduled,
    spawns: () => spawns,
    advance: (ms: number) => (clock += ms),
    fix: () => (broken = false),
    /** Run the background try that is due, and let it finish. */
    async runRetry() {
      const next = scheduled.shift();
      if (!next) throw new Error('no retry scheduled');
      clock += next.ms;
      await next.fn();
    },
  };
}

describe('circuit breaker', () => {
  const open: Hypervisor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  test('a host that cannot be reached answers at once, saying since when, when the next try is and why', async () => {
    const h = flakyHost();
    open.push(h.hv);
    const first = await h.hv.virsh('list').catch((e: unknown) => e);
    expect(first).toBeInstanceOf(HostDownError);
    expect((first as Error).message).toBe(
      'lab unreachable since 12:03, next try in 1 s: SSH login as virtbot@192.0.2.7:22 with key /etc/virtbot/lab_ed25519 was refused (the host does not accept that key)',
    );
    expect(plainError(first).code).toBe('HOST_DOWN');
    expect(h.spawns()).toBe(1);
    // While down, nothing reaches the host.
    h.advance(400);
    for (let i = 0; i < 5; i++) await expect(h.hv.virsh('list')).rejects.toThrow(/next try in 1 s/);
    await expect(h.hv.listDomains()).rejects.toBeInstanceOf(HostDownError);
    await expect(h.hv.users()).rejects.toBeInstanceOf(HostDownError);
    expect(h.spawns()).toBe(1);
    expect(h.hv.health()).toMatchObject({ host: 'lab', state: 'down', code: 'SSH_AUTH', trying: false });
  });

  test('tries again in the background with doubling delays, and is up again once a try works', async () => {
    const h = flakyHost();
    open.push(h.hv);
    await h.hv.connect();
    expect(h.scheduled.map((s) => s.ms)).toEqual([1000]);
    await h.runRetry();
    expect(h.scheduled.map((s) => s.ms)).toEqual([2000]);
    await h.runRetry();
    await h.runRetry();
    await h.runRetry();
    expect(h.scheduled.map((s) => s.ms)).toEqual([8000]);
    expect(h.spawns()).toBe(5);
    h.fix();
    await h.runRetry();
    expect(h.hv.health().state).toBe('up');
    expect(h.scheduled).toEqual([]);
    expect((await h.hv.virsh('uri')).stdout).toBe('test:///default\n');
  });
});

describe.skipIf(NO_VIRSH)(
  NO_VIRSH ? `circuit breaker on real virsh — ${NO_VIRSH_REASON}` : 'circuit breaker on real virsh',
  () => {
    test('a local host whose virsh cannot connect is down at start-up; the healthy host answers meanwhile', async () => {
      const registry = new HostRegistry(
        {
          hosts: [
            HostSchema.parse({ name: 'broken', uri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock' }),
            HostSchema.parse({ name: 'test', uri: 'test:///default' }),
          ],
        },
        { health: { backoffMs: 60_000 } },
      );
      try {
        expect(registry.health()).toEqual([
          { host: 'broken', state: 'idle' },
          { host: 'test', state: 'idle' },
        ]);
        const views = await registry.connectAll();
        expect(views.map((v) => [v.host, v.state])).toEqual([
          ['broken', 'down'],
          ['test', 'up'],
        ]);
        expect(views[0]!.reason).toMatch(/^virsh cannot connect to libvirt on the host: /);
        const broken = registry.get('broken');
        const starts = broken.backend.shell.starts;
        const error = await broken.listDomains().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HostDownError);
        expect((error as Error).message).toMatch(
          /^broken unreachable since \d\d:\d\d, next try in \d+ s: virsh cannot connect/,
        );
        expect(broken.backend.shell.starts).toBe(starts);
        expect((await registry.get('test').listDomains()).map((d) => d.name)).toEqual(['test']);
      } finally {
        await registry.close();
      }
    });
  },
);
