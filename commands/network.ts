/** `network list`: libvirt networks of a host. */
import type { CommandGroup } from '../src/command/spec.js';
import { arg, defineHostCommand } from '../src/pipeline/define.js';
import { plural } from './vm-common.js';

export const group: CommandGroup = {
  name: 'network',
  summary: 'libvirt networks VMs can be connected to',
  commands: [
    defineHostCommand({
      path: ['network', 'list'],
      summary: 'list a host’s libvirt networks (state, bridge)',
      args: { host: arg.host('the host (default: the first)') },
      examples: [{ input: 'network list', reply: '1 network on test: default (active' }],
      async run({ ctx }) {
        const networks = await ctx.hv.listNetworks();
        const rows = networks.map(
          (n) =>
            `${n.name} (${n.active ? 'active' : 'inactive'}${n.bridge ? `, bridge ${n.bridge}` : ''}${n.autostart ? ', autostart' : ''})`,
        );
        return {
          reply: `${plural(networks.length, 'network')} on ${ctx.host}${rows.length > 0 ? `: ${rows.join(', ')}` : ''}`,
          lines: rows,
          detail: `List networks of host '${ctx.host}'`,
        };
      },
    }),
  ],
};
