/** `host list|info`, `host users list`, `host groups list`: the configured hypervisors. */
import type { CommandGroup, CommandSpec } from '../src/command/spec.js';
import type { HostConfig } from '../src/config/sections/hosts.js';
import { formatKiB, guarded, plural, str } from './vm-common.js';

function reach(host: HostConfig): string {
  return host.ssh ? `ssh ${host.ssh.user}@${host.ssh.host}:${host.ssh.port}` : 'local';
}

const list: CommandSpec = {
  path: ['host', 'list'],
  summary: 'list the configured hosts (name, libvirt URI, how virtbot reaches them)',
  args: [],
  examples: [{ input: 'host list', reply: '1 host: test (test:///default, local)' }],
  async run(ctx) {
    const hosts = ctx.hosts.names().map((n) => ctx.hosts.config(n));
    const rows = hosts.map((h) => `${h.name} (${h.uri}, ${reach(h)})`);
    return {
      reply: `${plural(hosts.length, 'host')}: ${rows.join(', ')}`,
      lines: rows,
      detail: 'List hosts',
    };
  },
};

const info: CommandSpec = {
  path: ['host', 'info'],
  summary: 'show a host: hypervisor and libvirt versions, CPUs, memory, VMs',
  args: [{ name: 'host', type: 'host', positional: true, help: 'the host (default: the first)' }],
  target: { host: 'host' },
  examples: [{ input: 'host info', reply: 'test (test:///default, local): TEST 0.0.2, libvirt 9.' }],
  async run(ctx, args) {
    const hv = ctx.hosts.get(str(args, 'host'));
    const config = ctx.hosts.config(hv.name);
    return guarded(`reading host ${hv.name}`, async () => {
      const [version, node, domains, hostname] = [
        await hv.version(),
        await hv.nodeInfo(),
        await hv.listDomains(),
        await hv.hostname(),
      ];
      const running = domains.filter((d) => d.state === 'running').length;
      const memory = /^(\d+)/.exec(node['Memory size'] ?? '')?.[1];
      const reply =
        `${hv.name} (${config.uri}, ${reach(config)}): ${version.hypervisor}, libvirt ${version.daemon ?? version.library}, ` +
        `${plural(Number(node['CPU(s)'] ?? 0), 'CPU')}, ${memory ? formatKiB(Number(memory)) : '?'} memory, ` +
        `${plural(domains.length, 'VM')} (${running} running)`;
      const lines = [
        `hostname: ${hostname}`,
        `CPU model: ${node['CPU model'] ?? '?'}, ${node['CPU socket(s)'] ?? '?'} sockets × ${node['Core(s) per socket'] ?? '?'} cores × ${node['Thread(s) per core'] ?? '?'} threads`,
        `libvirt library ${version.library}, API ${version.api}`,
      ];
      return { reply, lines, host: hv.name, detail: `Show host '${hv.name}'` };
    });
  },
};

function accounts(kind: 'users' | 'groups'): CommandSpec {
  return {
    path: ['host', kind, 'list'],
    summary: `list the ${kind} of a host that can be given access to VMs (system accounts left out)`,
    args: [{ name: 'host', type: 'host', help: 'the host (default: the first)' }],
    target: { host: 'host' },
    examples: [{ input: `host ${kind} list`, reply: ` on test` }],
    async run(ctx, args) {
      const hv = ctx.hosts.get(str(args, 'host'));
      const names = await guarded(`listing ${kind} on ${hv.name}`, () =>
        kind === 'users' ? hv.users() : hv.groups(),
      );
      const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')}, …` : names.join(', ');
      return {
        reply: `${plural(names.length, kind.slice(0, -1))} on ${hv.name}${names.length > 0 ? `: ${shown}` : ''}`,
        lines: names,
        host: hv.name,
        detail: `List ${kind} of host '${hv.name}'`,
      };
    },
  };
}

export const group: CommandGroup = {
  name: 'host',
  summary: 'the hypervisors virtbot manages: list, info, accounts',
  commands: [list, info, accounts('users'), accounts('groups')],
};
