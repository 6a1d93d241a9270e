/**
 * A no-op libvirt backend: an in-process stand-in for `virsh` that answers the VirshShell framing
 * at once, with canned output captured from libvirt's test driver (test:///default) when virsh is
 * installed. Commands run their real code (quoting, framing, parsing, XML) without a process, a
 * socket or a daemon behind them.
 */
import type { HostBackend } from '../../src/libvirt/backend.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { Hypervisor } from '../../src/libvirt/hypervisor.js';
import { type ShellProcess, VirshShell } from '../../src/libvirt/virsh-shell.js';
import { capture } from './measure.js';

/** Output per virsh command word. */
export type Canned = Record<string, string>;

const FALLBACK: Canned = {
  uri: 'test:///default\n',
  domstate: 'running\n\n',
  list: 'test\n\n',
  dominfo:
    'Id:             1\nName:           test\nUUID:           6695eb01-f6a4-8304-79aa-97f2502e193f\nOS Type:        linux\n' +
    'State:          running\nCPU(s):         2\nMax memory:     8388608 KiB\nUsed memory:    2097152 KiB\n' +
    'Persistent:     yes\nAutostart:      disable\n\n',
  dumpxml:
    "<domain type='test' id='1'>\n  <name>test</name>\n  <memory unit='KiB'>8388608</memory>\n" +
    "  <currentMemory unit='KiB'>2097152</currentMemory>\n  <vcpu placement='static'>2</vcpu>\n" +
    "  <os>\n    <type arch='i686'>hvm</type>\n  </os>\n  <devices>\n" +
    "    <disk type='file' device='disk'>\n      <source file='/guest/diskimage1'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n" +
    "    <interface type='network'>\n      <mac address='aa:bb:cc:dd:ee:ff'/>\n      <source network='default'/>\n      <target dev='testnet0'/>\n    </interface>\n" +
    '  </devices>\n</domain>\n\n',
};

/** What test:///default answers for the commands `vm info test` and `vm list` send. */
export async function cannedFromTestDriver(): Promise<{ canned: Canned; source: string }> {
  const ask = (args: string[]) => capture('virsh', ['-q', '-c', 'test:///default', ...args]);
  const [dominfo, domstate, dumpxml, list] = await Promise.all([
    ask(['dominfo', '--domain', 'test']),
    ask(['domstate', '--domain', 'test']),
    ask(['dumpxml', '--domain', 'test']),
    ask(['list', '--all', '--name']),
  ]);
  if (dominfo === undefined || domstate === undefined || dumpxml === undefined || list === undefined) {
    return { canned: FALLBACK, source: 'built-in copy (virsh is not installed)' };
  }
  return {
    canned: { uri: 'test:///default\n', dominfo, domstate, dumpxml, list },
    source: 'captured from test:///default',
  };
}

const ERR_END = /^echo --err 'VBEND' '([0-9a-f]+)'$/;

/** A ShellProcess that answers every line on the next microtask. */
export function fakeVirshProcess(canned: Canned): ShellProcess {
  let stdout: (chunk: string) => void = () => {};
  let stderr: (chunk: string) => void = () => {};
  let closed = false;
  let onClose: ((reason: string) => void) | undefined;
  let pending = '';
  return {
    write(data) {
      pending += data;
      let out = '';
      let err = '';
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        // Like virsh reading a pipe: readline echoes every line after the prompt.
        out += `virsh # ${line}\n`;
        const errEnd = ERR_END.exec(line);
        if (errEnd) err += `error: VBEND ${errEnd[1]}\n`;
        else out += canned[line.split(' ', 1)[0] ?? ''] ?? '';
      }
      queueMicrotask(() => {
        if (closed) return;
        // stdout first, as a process's pipes usually deliver it: the shell waits for both.
        if (out) stdout(out);
        if (err) stderr(err);
      });
    },
    onStdout(listener) {
      stdout = listener;
    },
    onStderr(listener) {
      stderr = listener;
    },
    onClose(listener) {
      onClose = listener;
    },
    kill() {
      if (closed) return;
      closed = true;
      onClose?.('was killed');
    },
  };
}

export function fakeBackend(host: string, canned: Canned): HostBackend {
  return {
    kind: 'local',
    shell: new VirshShell({ host, spawn: async () => fakeVirshProcess(canned) }),
    withTempFile: (_content, fn) => fn('/nonexistent/virtbot-bench.xml'),
    getent: async () => '',
    close: async () => {},
  };
}

/** A HostRegistry whose every host is answered by the in-process fake virsh. */
export class FakeHostRegistry extends HostRegistry {
  private readonly fakes = new Map<string, Hypervisor>();

  constructor(
    config: ConstructorParameters<typeof HostRegistry>[0],
    private readonly canned: Canned,
  ) {
    super(config);
  }

  override get(name?: string): Hypervisor {
    const host = this.config(name);
    let hv = this.fakes.get(host.name);
    if (!hv) {
      hv = new Hypervisor(host.name, host.uri, fakeBackend(host.name, this.canned));
      this.fakes.set(host.name, hv);
    }
    return hv;
  }

  override async close(): Promise<void> {
    const all = [...this.fakes.values()];
    this.fakes.clear();
    await Promise.allSettled(all.map((hv) => hv.close()));
    await super.close();
  }
}
