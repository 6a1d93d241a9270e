/** `host list|info`, `host users list`, `host groups list`: the configured hypervisors. */
import type { CommandGroup, CommandSpec } from '../src/command/spec.js';
import type { HostConfig } from '../src/config/sections/hosts.js';
import { arg, defineCommand, defineHostCommand } from '../src/pipeline/define.js';
import { hostStatsCommands } from './host-stats.js';
import { formatKiB, plural } from './vm-common.js';

function reach(host: HostConfig): string {
  return host.ssh ? `ssh ${host.ssh.user}@${host.ssh.host}:${host.ssh.port}` : 'local';
}

const list = defineCommand({
  path: ['host', 'list'],
  summary: 'list the configured hosts (name, libvirt URI, how virtbot reaches them)',
  args: {},
  examples: [{ input: 'host list', reply: '1 host: test (test:///default, local)' }],
  async run({ ctx }) {
    const hosts = ctx.directory.names().map((n) => ctx.directory.config(n));
    const health = new Map(ctx.directory.health().map((h) => [h.host, h]));
    const state = (name: string) => {
      const h = health.get(name);
      if (h?.state !== 'down') return '';
      const since = h.since ? ` since ${h.since.toISOString().slice(11, 16)} UTC` : '';
      return `, unreachable${since}: ${h.reason ?? 'no answer'}`;
    };
    const rows = hosts.map((h) => `${h.name} (${h.uri}, ${reach(h)}${state(h.name)})`);
    return {
      reply: `${plural(hosts.length, 'host')}: ${rows.join(', ')}`,
      lines: rows,
      detail: 'List hosts',
    };
  },
});

const info = defineHostCommand({
  path: ['host', 'info'],
  summary: 'show a host: hypervisor and libvirt versions, CPUs, memory, VMs',
  args: { host: arg.host('the host (default: the first)').positional() },
  examples: [{ input: 'host info', reply: 'test (test:///default, local): TEST 0.0.2, libvirt 9.' }],
  async run({ ctx }) {
    const { hv } = ctx;
    const config = ctx.directory.config(hv.name);
    const [version, node, domains, hostname] = [
      await hv.version(),
      await hv.nodeInfo(),
      await hv.listDomains(),
      await hv.hostname(),
    ];
    const running = domains.filter((d) => d.state === 'running').length;
    const memory = /^(\d+)/.exec(node['Memory size'] ?? '')?.[1];
    const cpus = Number(node['CPU(s)'] ?? 0);
    const reply =
      `${hv.name} (${config.uri}, ${reach(config)}): ${version.hypervisor}, libvirt ${version.daemon ?? version.library}, ` +
      `${plural(cpus, 'CPU')}, ${memory ? formatKiB(Number(memory)) : '?'} memory, ` +
      `${plural(domains.length, 'VM')} (${running} running)`;
    const lines = [
      `hostname: ${hostname}`,
      `CPU model: ${node['CPU model'] ?? '?'}, ${node['CPU socket(s)'] ?? '?'} sockets × ${node['Core(s) per socket'] ?? '?'} cores × ${node['Thread(s) per core'] ?? '?'} threads`,
      `libvirt library ${version.library}, API ${version.api}`,
    ];
    return {
      reply,
      lines,
      detail: `Show host '${hv.name}'`,
      card: {
        title: `host ${hv.name}`,
        fields: [
          { name: 'hypervisor', value: version.hypervisor },
          { name: 'libvirt', value: version.daemon ?? version.library },
          { name: 'CPUs', value: String(cpus) },
          { name: 'memory', value: memory ? formatKiB(Number(memory)) : '?' },
          { name: 'VMs', value: `${domains.length} (${running} running)` },
        ],
      },
    };
  },
});

function accounts(kind: 'users' | 'groups'): CommandSpec {
  return defineHostCommand({
    path: ['host', kind, 'list'],
    summary: `list the ${kind} of a host that can be given access to VMs (system accounts left out)`,
    args: { host: arg.host('the host (default: the first)') },
    examples: [{ input: `host ${kind} list`, reply: ' on test' }],
    async run({ ctx }) {
      const { hv } = ctx;
      const names = kind === 'users' ? await hv.users() : await hv.groups();
      const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')}, …` : names.join(', ');
      return {
        reply: `${plural(names.length, kind.slice(0, -1))} on ${hv.name}${names.length > 0 ? `: ${shown}` : ''}`,
        lines: names,
        detail: `List ${kind} of host '${hv.name}'`,
      };
    },
  });
}

export const group: CommandGroup = {
  name: 'host',
  summary: 'the hypervisors virtbot manages: list, info, accounts, usage',
  commands: [list, info, accounts('users'), accounts('groups'), ...hostStatsCommands],
};
