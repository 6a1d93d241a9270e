/**
 * `vm ip` and `vm agent info`: what is known of a guest from outside — its addresses from the
 * DHCP leases of libvirt's networks, the host's ARP table and the guest agent, each address with
 * the sources that saw it; and the OS, hostname and logged-in users from qemu-guest-agent, or a
 * plain "no guest agent" with why.
 */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { guestAddresses, guestFacts, mergeAddresses } from '../src/libvirt/guest.js';
import { defineVmCommand } from '../src/pipeline/define.js';
import { hostArg, plural, vmArg } from './vm-common.js';

const ip = defineVmCommand({
  path: ['vm', 'ip'],
  summary:
    'a VM’s IP addresses, from the DHCP lease, the host’s ARP table and the guest agent (each says which)',
  args: { vm: vmArg(), host: hostArg() },
  examples: [
    {
      input: 'vm ip test',
      reply: 'test: 192.168.122.3/24 (testnet0, aa:bb:cc:dd:ee:ff; from lease, arp, agent)',
    },
  ],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    if (!(await hv.isRunning(vm))) throw new CommandError(`${vm} is not running: it has no address`);
    const report = await guestAddresses(hv, vm);
    const merged = mergeAddresses(report.addresses);
    const lines = [
      ...merged.map((a) => `${a.address} on ${a.iface} (${a.mac}): from ${a.sources.join(', ')}`),
      ...report.silent.map((s) => `${s.source}: ${s.reason}`),
    ];
    const reply =
      merged.length === 0
        ? `no address known for ${vm}: ${report.silent.map((s) => `${s.source}: ${s.reason}`).join('; ')}`
        : `${vm}: ${merged.map((a) => `${a.address} (${a.iface}, ${a.mac}; from ${a.sources.join(', ')})`).join(', ')}`;
    return {
      reply,
      lines,
      detail: `Show addresses of guest '${vm}' (${plural(merged.length, 'address', 'addresses')})`,
      card: {
        title: `${vm} addresses`,
        fields: [
          ...merged.map((a) => ({ name: a.address, value: `${a.iface} ${a.mac} — ${a.sources.join(', ')}` })),
          ...report.silent.map((s) => ({ name: s.source, value: s.reason })),
        ],
      },
    };
  },
});

const agentInfo = defineVmCommand({
  path: ['vm', 'agent', 'info'],
  summary: 'OS, hostname and users of a VM from its guest agent (qemu-guest-agent), when it answers',
  args: { vm: vmArg(), host: hostArg() },
  examples: [
    {
      input: 'vm agent info test',
      reply: "no guest agent for test: this host's driver cannot talk to a guest agent",
    },
  ],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    if (!(await hv.isRunning(vm))) throw new CommandError(`${vm} is not running: no guest agent to ask`);
    const answer = await guestFacts(hv, vm);
    if ('absent' in answer) {
      return {
        reply: `no guest agent for ${vm}: ${answer.absent}`,
        detail: `Ask the guest agent of '${vm}': none`,
      };
    }
    const { facts } = answer;
    const users = facts.users.map((u) => (u.since ? `${u.name} (since ${u.since.slice(0, 16)})` : u.name));
    const parts = [
      facts.os ?? 'OS not reported',
      facts.hostname ? `hostname ${facts.hostname}` : 'no hostname reported',
      users.length > 0 ? `users ${users.join(', ')}` : 'nobody logged in',
    ];
    return {
      reply: `${vm} (guest agent): ${parts.join(', ')}`,
      lines: [
        ...(facts.kernel ? [`kernel ${facts.kernel}`] : []),
        ...(facts.timezone ? [`time zone ${facts.timezone}`] : []),
      ],
      detail: `Ask the guest agent of '${vm}'`,
      card: {
        title: `${vm} (guest agent)`,
        fields: [
          { name: 'OS', value: facts.os ?? '-' },
          { name: 'hostname', value: facts.hostname ?? '-' },
          { name: 'users', value: users.join(', ') || 'none' },
        ],
      },
    };
  },
});

export const guestCommands: CommandSpec[] = [ip, agentInfo];
