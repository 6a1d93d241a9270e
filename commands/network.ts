/** `network list`: libvirt networks of a host. */
import type { CommandGroup } from '../src/command/spec.js';
import { guarded, plural, str } from './vm-common.js';

export const group: CommandGroup = {
  name: 'network',
  summary: 'libvirt networks VMs can be connected to',
  commands: [
    {
      path: ['network', 'list'],
      summary: 'list a host’s libvirt networks (state, bridge)',
      args: [{ name: 'host', type: 'host', help: 'the host (default: the first)' }],
      target: { host: 'host' },
      examples: [{ input: 'network list', reply: '1 network on test: default (active' }],
      async run(ctx, args) {
        const hv = ctx.hosts.get(str(args, 'host'));
        const networks = await guarded(`listing networks on ${hv.name}`, () => hv.listNetworks());
        const rows = networks.map(
          (n) =>
            `${n.name} (${n.active ? 'active' : 'inactive'}${n.bridge ? `, bridge ${n.bridge}` : ''}${n.autostart ? ', autostart' : ''})`,
        );
        return {
          reply: `${plural(networks.length, 'network')} on ${hv.name}${rows.length > 0 ? `: ${rows.join(', ')}` : ''}`,
          lines: rows,
          host: hv.name,
          detail: `List networks of host '${hv.name}'`,
        };
      },
    },
  ],
};
