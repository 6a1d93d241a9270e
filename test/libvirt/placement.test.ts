/**
 * Where a VM is: remembered after a lookup, dropped when it may be stale, never asked for when
 * the host is given or the only one; and `vm list` asking every host at once.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { group as vm } from '../../commands/vm.js';
import type { HostConfig } from '../../src/config/sections/hosts.js';
import { LocalBackend, type LocalBackendOptions } from '../../src/libvirt/backend.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { NO_VIRSH, NO_VIRSH_REASON } from './have-virsh.js';
import { makeRunner } from './run-command.js';

/** A local backend that records the virsh commands sent, and may hold some back. */
class Recording extends LocalBackend {
  readonly sent: string[] = [];
  hold: (command: string) => Promise<void> = async () => {};
  constructor(options: LocalBackendOptions) {
    super(options);
    const run = this.shell.run.bind(this.shell);
    this.shell.run = (command, args, opts) => {
      this.sent.push(command);
      return this.hold(command).then(() => run(command, args, opts));
    };
  }
}

describe.skipIf(NO_VIRSH)(NO_VIRSH ? `VM placement — ${NO_VIRSH_REASON}` : 'VM placement', () => {
  const registries: HostRegistry[] = [];
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
  });

  /** Hosts each on its own test:///default (a fresh default per virsh process). */
  function setup(names: string[], uri: (name: string) => string = () => 'test:///default') {
    const hosts = new HostRegistry(
      { hosts: names.map((name) => ({ name, uri: uri(name) })) },
      { backend: (h: HostConfig) => new Recording({ host: h.name, uri: h.uri }) },
    );
    registries.push(hosts);
    const backend = (name: string) => hosts.get(name).backend as Recording;
    const sent = () => names.flatMap((n) => backend(n).sent);
    const clear = () => {
      for (const n of names) backend(n).sent.length = 0;
    };
    /** Define or undefine a VM behind virtbot's back (straight into the host's virsh). */
    const outside = {
      async define(host: string, name: string) {
        const b = backend(host);
        const xml = (await b.shell.run('dumpxml', [{ option: '--domain', value: 'test' }])).stdout
          .replace('<name>test</name>', `<name>${name}</name>`)
          .replace(/<uuid>[^<]*<\/uuid>/, '');
        await b.withTempFile(xml, (file) => b.shell.run('define', [{ option: '--file', value: file }]));
      },
      async undefine(host: string, name: string) {
        await backend(host).shell.run('undefine', [{ option: '--domain', value: name }]);
      },
    };
    return { hosts, say: makeRunner(hosts, [vm]), backend, sent, clear, outside };
  }

  test('a VM found once is not looked up again; a stale place is noticed and looked up again', async () => {
    const { hosts, say, sent, clear, outside } = setup(['a', 'b']);
    await outside.define('b', 'moved');
    expect((await say('vm info moved')).host).toBe('b');
    expect(sent()).toContain('domstate');
    expect(hosts.placeOf('moved')).toBe('b');

    clear();
    expect((await say('vm info moved')).host).toBe('b');
    expect(sent()).not.toContain('domstate');

    // Moved behind virtbot's back: the hint fails at the first command, nothing was done on b.
    await outside.undefine('b', 'moved');
    await outside.define('a', 'moved');
    const changed = await say('vm cpu set moved 1');
    expect(changed.host).toBe('a');
    expect(hosts.placeOf('moved')).toBe('a');
    expect((await say('vm info moved')).reply).toMatch(/^moved on a: shut off, 1 vCPU /);

    // Gone everywhere: the hint is dropped and the answer is the full lookup's.
    await outside.undefine('a', 'moved');
    await expect(say('vm info moved')).rejects.toThrow("no VM 'moved' on any host (a, b)");
    expect(hosts.placeOf('moved')).toBeUndefined();
  });

  test('a VM that vanishes mid-change fails that change; it is not tried again elsewhere', async () => {
    const { hosts, say, backend, outside } = setup(['a', 'b']);
    await outside.define('b', 'moved');
    await say('vm info moved');
    expect(hosts.placeOf('moved')).toBe('b');
    await outside.define('a', 'moved');
    backend('b').hold = async (command) => {
      if (command !== 'setvcpus') return;
      backend('b').hold = async () => {};
      await outside.undefine('b', 'moved');
    };
    await expect(say('vm cpu set moved 1')).rejects.toThrow(/failed: .*failed to get domain 'moved'/);
    expect(backend('a').sent).not.toContain('setvcpus');
    expect(hosts.placeOf('moved')).toBeUndefined();
  });

  test('defining, undefining, destroying or shutting down a VM through virtbot drops its place', async () => {
    const { hosts, say } = setup(['a', 'b']);
    const remembered = async () => {
      await say('vm info test');
      expect(hosts.placeOf('test')).toBe('a');
    };
    await remembered();
    await hosts.get('b').define(await hosts.get('a').dumpXml('test', { inactive: true }));
    // A string of XML names no VM we parse: every place is dropped.
    expect(hosts.placeOf('test')).toBeUndefined();
    await remembered();
    const element = (await hosts.get('a').domain('test', { inactive: true })).root;
    await hosts.get('a').define(element);
    expect(hosts.placeOf('test')).toBeUndefined();
    for (const change of [
      () => hosts.get('b').destroy('test'),
      () =>
        hosts
          .get('b')
          .shutdown('test')
          .catch(() => undefined),
      () => hosts.get('b').undefine('test'),
    ]) {
      await remembered();
      await change();
      expect(hosts.placeOf('test')).toBeUndefined();
    }
    // Asked about on a host that has no such domain: dropped too.
    await remembered();
    await expect(hosts.get('b').dumpXml('test')).rejects.toThrow(/failed to get domain/);
    expect(hosts.placeOf('test')).toBeUndefined();
  });

  test('a named or only host is not asked where the VM is, and "no VM" is still the answer', async () => {
    const one = setup(['only']);
    expect((await one.say('vm info test')).host).toBe('only');
    await expect(one.say('vm info nope')).rejects.toThrow("no VM 'nope' on host only");
    await expect(one.say('vm cpu set nope 1')).rejects.toThrow("no VM 'nope' on host only");
    expect(one.sent()).not.toContain('domstate');

    const two = setup(['a', 'b']);
    await two.outside.define('b', 'onb');
    expect((await two.say('vm info onb host=b')).host).toBe('b');
    await expect(two.say('vm info onb host=a')).rejects.toThrow("no VM 'onb' on host a");
    expect(two.sent()).not.toContain('domstate');
  });

  test('vm list asks every host at once; an unreachable one is reported, not fatal', async () => {
    const { say, backend } = setup(['a', 'down', 'c'], (name) =>
      name === 'down' ? 'qemu+tcp://127.0.0.1:1/system' : 'test:///default',
    );
    // Each reachable host's listing waits until the other's has been asked: a one-after-the-other
    // fan-out could never get both (the wait gives up after a while and fails that host).
    const asked = new Set<string>();
    let bothAsked: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      bothAsked = resolve;
    });
    for (const name of ['a', 'c']) {
      backend(name).hold = async (command) => {
        if (command !== 'list') return;
        asked.add(name);
        if (asked.size === 2) bothAsked();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          gate,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${name} was asked alone`)), 10_000);
          }),
        ]).finally(() => clearTimeout(timer));
      };
    }
    const listed = await say('vm list');
    expect(listed.reply).toMatch(
      /^2 VMs on 3 hosts: test \(running, 2 vCPUs, 2G\), test \(running, 2 vCPUs, 2G\); not reachable: down \(/,
    );
    expect(listed.lines).toEqual([
      'test — host a, running, 2 vCPUs, 2G memory',
      'test — host c, running, 2 vCPUs, 2G memory',
    ]);
  });
});
