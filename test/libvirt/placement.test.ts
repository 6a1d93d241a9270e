/**
 * The target stage (src/pipeline/stages/target.ts), through the whole pipeline on hosts of
 * libvirt's test driver: every VM a command names is looked for on every host at once (or on
 * `host=` only) — found on one, it is bound there; on two, the person is asked for host=; on
 * none, told which hosts were asked and which could not be; a new VM's name must be free on
 * every host. And `vm list` asks every host at once, reporting an unreachable one.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { group as vm } from '../../commands/vm.js';
import type { HostConfig } from '../../src/config/sections/hosts.js';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { startBot, type TestBot } from '../harness/bot.js';
import { RecordingBackend } from '../harness/recording-backend.js';
import { NO_VIRSH, NO_VIRSH_REASON } from './have-virsh.js';
import { makeRunner } from './run-command.js';

/** A host whose URI cannot connect: nothing listens on port 1. */
const DOWN = 'qemu+tcp://127.0.0.1:1/system';

describe.skipIf(NO_VIRSH)(NO_VIRSH ? `the target stage — ${NO_VIRSH_REASON}` : 'the target stage', () => {
  const registries: HostRegistry[] = [];
  const bots: TestBot[] = [];
  afterEach(async () => {
    await Promise.all([
      ...registries.splice(0).map((r) => r.close()),
      ...bots.splice(0).map((b) => b.close()),
    ]);
  });

  /** Hosts each on its own test:///default (a fresh default per virsh process: VM `test` on each). */
  function setup(names: string[], uri: (name: string) => string = () => 'test:///default') {
    const hosts = new HostRegistry(
      {
        hosts: names.map((name) => ({ name, uri: uri(name) })),
        // As the config schema fills it in (the registry takes a validated config).
        templates: [
          {
            name: 'tiny',
            distro: 'debian',
            version: '12',
            arch: 'x86_64',
            vcpus: 1,
            memory: '64M',
            disk: '1G',
            networks: ['default'],
          },
        ],
      },
      { backend: (h: HostConfig) => new RecordingBackend({ host: h.name, uri: h.uri }) },
    );
    registries.push(hosts);
    const backend = (name: string) => hosts.get(name).backend as RecordingBackend;
    const sent = (name: string) => backend(name).sent;
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
      async remove(host: string, name: string) {
        const b = backend(host);
        await b.shell.run('destroy', [{ option: '--domain', value: name }]).catch(() => undefined);
        await b.shell.run('undefine', [{ option: '--domain', value: name }]);
      },
    };
    return { hosts, say: makeRunner(hosts, [vm]), backend, sent, clear, outside };
  }

  test('a VM on one host is bound there, after every host was asked', async () => {
    const { say, sent, clear, outside } = setup(['a', 'b']);
    await outside.remove('a', 'test');
    clear();
    const info = await say('vm info test');
    expect(info).toMatchObject({ host: 'b', vm: 'test' });
    expect(info.reply).toMatch(/^test on b: running/);
    // Both hosts were asked for their domains' names (a name list, never a `--domain` lookup that
    // virsh would read as an id or a UUID first), and only b was asked about the VM itself.
    expect(sent('a')).toContain('list');
    expect(sent('b')).toContain('list');
    expect(sent('a')).not.toContain('dominfo');
    expect(sent('a')).not.toContain('dumpxml');
    expect(sent('b')).toContain('dominfo');
    // A change goes to that host only.
    clear();
    expect((await say('vm cpu set test 1')).host).toBe('b');
    expect(sent('b')).toContain('setvcpus');
    expect(sent('a')).not.toContain('setvcpus');
  });

  test('a VM on two hosts is not guessed: the person is asked which, with host=', async () => {
    const { say, sent, clear } = setup(['a', 'b']);
    clear();
    await expect(say('vm info test')).rejects.toThrow(
      "there is a VM 'test' on a and b: say which with host=a or host=b",
    );
    await expect(say('vm cpu set test 1')).rejects.toThrow("there is a VM 'test' on a and b");
    expect([...sent('a'), ...sent('b')]).not.toContain('setvcpus');
    expect((await say('vm info test host=b')).host).toBe('b');
  });

  test('a VM on no host is reported with the hosts asked', async () => {
    const one = setup(['only']);
    await expect(one.say('vm info nope')).rejects.toThrow("no VM 'nope' on host only");
    await expect(one.say('vm cpu set nope 1')).rejects.toThrow("no VM 'nope' on host only");
    const two = setup(['a', 'b']);
    await expect(two.say('vm info nope')).rejects.toThrow("no VM 'nope' on any host (a, b)");
  });

  test('host= names the only host asked', async () => {
    const { say, sent, clear, outside } = setup(['a', 'b']);
    await outside.define('b', 'onb');
    clear();
    expect((await say('vm info onb host=b')).host).toBe('b');
    expect(sent('a')).toEqual([]);
    clear();
    await expect(say('vm info onb host=a')).rejects.toThrow("no VM 'onb' on host a");
    expect(sent('b')).toEqual([]);
    await expect(say('vm info onb host=c')).rejects.toThrow("unknown host 'c'");
  });

  test('a host that cannot be reached is named, never taken as "not there"', async () => {
    const { say, outside } = setup(['a', 'down', 'c'], (name) =>
      name === 'down' ? DOWN : 'test:///default',
    );
    await outside.remove('c', 'test');
    // Found on a: bound there, with a note that down could not be asked.
    const info = await say('vm info test');
    expect(info.host).toBe('a');
    expect(info.lines.at(-1)).toMatch(/^note: could not ask down: /);
    // Found nowhere that answered: the answer says which host could not be asked.
    await expect(say('vm info nope')).rejects.toThrow(
      /^no VM 'nope' on any host \(a, down, c\); could not ask down: /,
    );
    // Asked on that host alone: it cannot be reached.
    await expect(say('vm info test host=down')).rejects.toThrow(
      /^cannot reach host down to find VM 'test': /,
    );
  });

  test("a new VM's name must be free on every host, whichever host it is made on", async () => {
    const { say, outside } = setup(['a', 'b']);
    await outside.remove('a', 'test');
    await expect(say('vm create test template=tiny')).rejects.toThrow(
      "a VM named 'test' already exists on b: names must be unique across hosts, since virtbot finds VMs by name",
    );
    await expect(say('vm create test template=tiny host=a')).rejects.toThrow(
      "a VM named 'test' already exists on b",
    );
    const made = await say('vm create fresh template=tiny host=b');
    expect(made).toMatchObject({ host: 'b', vm: 'fresh' });
    await expect(say('vm create fresh template=tiny')).rejects.toThrow(
      "a VM named 'fresh' already exists on b",
    );
  });

  test('a VM that vanishes mid-change fails that change; it is not tried again elsewhere', async () => {
    const { say, backend, outside } = setup(['a', 'b']);
    await outside.remove('a', 'test');
    backend('b').hold = async (command) => {
      if (command !== 'setvcpus') return;
      backend('b').hold = async () => {};
      // Moved behind virtbot's back between locating and changing.
      await outside.remove('b', 'test');
      await outside.define('a', 'test');
    };
    await expect(say('vm cpu set test 1')).rejects.toThrow(
      "vm cpu set failed: VM 'test' is no longer on host b",
    );
    expect(backend('a').sent).not.toContain('setvcpus');
  });

  test('vm list asks every host at once; an unreachable one is reported, not fatal', async () => {
    const { say, backend } = setup(['a', 'down', 'c'], (name) =>
      name === 'down' ? DOWN : 'test:///default',
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

  // Defect: a VM "name" that virsh reads as a domain id or UUID finds that domain. `vm info 1`
  // binds the invocation to VM '1' — the judge weighs rules on VM '1' — while virsh acts on the
  // domain with id 1 (here `test`): a deny rule on `test` is walked around. The target stage
  // should take a VM only when the domain's own name is the one given (e.g. compare `virsh
  // domname` with it), or the VM-name validator should refuse all-digit and UUID-shaped names.
  test('finds a VM by its name only, never by its libvirt id or UUID', async () => {
    const hosts = new HostRegistry({ hosts: [{ name: 'lab', uri: 'test:///default' }] });
    const t = await startBot(
      {
        hosts: [{ name: 'lab', uri: 'test:///default' }],
        users: { tester: { roles: ['all'] } },
        roles: { all: { permissions: ['*'] } },
        rules: [{ name: 'hands-off', permission: 'vm.*', vm: 'test', effect: 'deny' }],
      },
      { hosts },
    );
    bots.push(t);
    const uuid = (
      await hosts.get('lab').virsh('domuuid', [{ option: '--domain', value: 'test' }])
    ).stdout.trim();
    expect(await t.text('vm info test', 'tester')).toBe(
      "denied: rule 'hands-off' (vm.* on VM test) denies vm.info",
    );
    for (const other of ['1', '01', uuid])
      expect(await t.text(`vm info ${other}`, 'tester'), other).toBe(`no VM '${other}' on host lab`);
  });
});
