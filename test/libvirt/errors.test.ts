/**
 * Plain-language errors: real virsh failures (from libvirt's test driver, and the stderr QEMU's
 * driver gave on the e2e host, kept verbatim) become one line without paths or QEMU internals.
 */
import { describe, expect, test } from 'vitest';
import { SshAuthError, SshUnreachableError } from '../../src/libvirt/ssh/errors.js';
import { libvirtCode, plainError } from '../../src/libvirt/virsh/errors.js';
import {
  localVirshSpawner,
  VirshConnectionError,
  VirshError,
  VirshShell,
  VirshStartError,
} from '../../src/libvirt/virsh-shell.js';
import { NO_VIRSH, NO_VIRSH_REASON } from './have-virsh.js';

/** A VirshError as the shell builds it from virsh's stderr. */
function virshError(command: string, stderr: string): VirshError {
  const lines = stderr
    .split('\n')
    .filter((l) => l.startsWith('error: '))
    .map((l) => l.slice(7));
  return new VirshError(lines.join(': '), command, stderr);
}

/** stderr of QEMU-driver failures, as virsh 9.0 printed them on the e2e host. */
const QEMU = {
  detachMissing:
    "error: Failed to detach device from /tmp/virtbot-3f2a9c0d1e4b5a6978c0d1e2/object.xml\nerror: device not found: no device found at address '(<null>)' matching MAC address '52:54:00:aa:bb:01' and alias '(<null>)'\n",
  machineLimit:
    "error: Failed to start domain 'web01'\nerror: unsupported configuration: Maximum CPUs greater than specified machine type limit 255\n",
  jobLock:
    'error: Failed to attach device from /tmp/virtbot-0a1b2c3d4e5f60718293a4b5/object.xml\nerror: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainAttachDeviceFlags)\n',
  liveVcpus:
    'error: invalid argument: requested vcpus is greater than max allowable vcpus for the live domain: 2 > 1\n',
  alreadyActive: 'error: Domain is already active\n',
  netdev:
    "error: Failed to attach device from /tmp/virtbot-aa/object.xml\nerror: internal error: unable to execute QEMU command 'netdev_add': Duplicate ID 'hostnet1' for netdev\n",
  socket:
    "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n",
};

describe('libvirtCode reads the VIR_ERR code from the message prefix', () => {
  test.each([
    ["Domain not found: no domain with matching name 'x'", 'VIR_ERR_NO_DOMAIN'],
    ['Timed out during operation: cannot acquire state change lock', 'VIR_ERR_OPERATION_TIMEOUT'],
    ['Requested operation is not valid: domain is not running', 'VIR_ERR_OPERATION_INVALID'],
    [
      'this function is not supported by the connection driver: virDomainAttachDeviceFlags',
      'VIR_ERR_NO_SUPPORT',
    ],
    ["device not found: no device matching MAC address 'x'", 'VIR_ERR_DEVICE_MISSING'],
    ["domain 'web01' exists already", 'VIR_ERR_DOM_EXIST'],
    ["Failed to connect socket to '/run/libvirt/libvirt-sock': Permission denied", 'VIR_ERR_SYSTEM_ERROR'],
  ])('%s → %s', (message, code) => {
    expect(libvirtCode(message)?.code).toBe(code);
  });

  test('a message without a known prefix has no code', () => {
    expect(libvirtCode('something else happened')).toBeUndefined();
  });
});

describe('plainError', () => {
  test("no temporary path: a detach of a missing device names the device, not virtbot's file", () => {
    const plain = plainError(virshError('detach-device', QEMU.detachMissing));
    expect(plain.code).toBe('VIR_ERR_DEVICE_MISSING');
    expect(plain.message).toContain("MAC address '52:54:00:aa:bb:01'");
    expect(plain.message).not.toMatch(/\/tmp|object\.xml/);
  });

  test('a job lock held by another call says what libvirt is busy with', () => {
    expect(plainError(virshError('attach-device', QEMU.jobLock))).toEqual({
      code: 'VIR_ERR_OPERATION_TIMEOUT',
      message:
        'libvirt is still busy with another change to this VM (attaching a device); try again when it has finished',
    });
  });

  test('limits and states in words', () => {
    expect(plainError(virshError('start', QEMU.machineLimit)).message).toBe(
      "the VM's machine type allows at most 255 vCPUs",
    );
    expect(plainError(virshError('setvcpus', QEMU.liveVcpus)).message).toBe('at most 1 vCPUs (asked for 2)');
    expect(plainError(virshError('start', QEMU.alreadyActive)).message).toBe('the VM is already running');
    expect(plainError(virshError('list', QEMU.socket)).message).toBe(
      'libvirtd is not running on the host (its socket cannot be reached)',
    );
  });

  test('QEMU monitor internals stay out', () => {
    const plain = plainError(virshError('attach-device', QEMU.netdev));
    expect(plain).toEqual({
      code: 'VIR_ERR_INTERNAL_ERROR',
      message: 'the hypervisor (QEMU) refused the change',
    });
  });

  test('an SSH login refused names the user and the key file tried', () => {
    const auth = new SshAuthError('virtbot@10.0.0.5:22', '/etc/virtbot/id_ed25519');
    const wrapped = new VirshStartError(`cannot start virsh on lab: ${auth.message}`, { cause: auth });
    expect(plainError(wrapped)).toEqual({
      code: 'SSH_AUTH',
      message:
        'SSH login as virtbot@10.0.0.5:22 with key /etc/virtbot/id_ed25519 was refused (the host does not accept that key)',
    });
    expect(plainError(new SshUnreachableError('virtbot@10.0.0.5:22', 'connection refused')).message).toBe(
      'cannot reach virtbot@10.0.0.5:22 over SSH: connection refused',
    );
  });

  test('a lost connection or a timeout says what was going on and that the outcome is unknown, without the command line', () => {
    const line = "attach-device --domain 'web01' --file '/tmp/virtbot-0a1b/object.xml' --live --config";
    const lost = new VirshConnectionError(
      `virsh on lab lost its SSH connection while running \`${line}\`: outcome unknown`,
      line,
    );
    expect(plainError(lost)).toEqual({
      code: 'CONNECTION_LOST',
      message: 'the connection dropped while attaching a device; outcome unknown',
    });
    const late = new VirshConnectionError(
      `virsh on lab did not answer \`${line}\` within 6 s: outcome unknown`,
      line,
    );
    expect(plainError(late).message).toBe(
      'no answer within 6 s while attaching a device; it may still happen (outcome unknown)',
    );
  });
});

describe.skipIf(NO_VIRSH)(
  NO_VIRSH ? `plainError on real virsh — ${NO_VIRSH_REASON}` : 'plainError on real virsh',
  () => {
    test('the failures of a real virsh come out plain', async () => {
      const shell = new VirshShell({ host: 'test', spawn: localVirshSpawner('test:///default') });
      try {
        const fail = (command: string, args: Parameters<VirshShell['run']>[1]) =>
          shell.run(command, args).then(
            () => {
              throw new Error(`${command} did not fail`);
            },
            (e: unknown) => plainError(e),
          );
        expect(await fail('dominfo', [{ option: '--domain', value: 'nope' }])).toEqual({
          code: 'VIRSH_LOOKUP',
          message: "no domain 'nope'",
        });
        expect(await fail('net-info', [{ option: '--network', value: 'nope' }])).toEqual({
          code: 'VIR_ERR_NO_NETWORK',
          message: "no network 'nope'",
        });
        expect((await fail('start', [{ option: '--domain', value: 'test' }])).message).toBe(
          'the VM is already running',
        );
        expect(
          (
            await fail('domblkinfo', [
              { option: '--domain', value: 'test' },
              { option: '--device', value: 'vdz' },
            ])
          ).code,
        ).toBe('VIR_ERR_INVALID_ARG');
      } finally {
        await shell.close();
      }
    });

    test('a local virsh that cannot connect says so plainly', async () => {
      const shell = new VirshShell({ host: 'x', spawn: localVirshSpawner('qemu:///nonexistent') });
      try {
        const error = await shell.run('uri').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(VirshStartError);
        const plain = plainError(error);
        expect(plain.code).toBe('CONNECT');
        expect(plain.message).toMatch(/^virsh cannot connect to libvirt on the host: /);
      } finally {
        await shell.close();
      }
    });
  },
);
