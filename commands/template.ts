/** `template list|show`: the VM templates of the config. */
import { CommandError, type CommandGroup } from '../src/command/spec.js';
import type { TemplateConfig } from '../src/config/sections/hosts.js';
import { templateDefaults, templateSizes } from '../src/libvirt/template.js';
import { arg, defineCommand } from '../src/pipeline/define.js';
import { formatKiB, plural } from './vm-common.js';

function describe(t: TemplateConfig): string {
  const sizes = templateSizes(t);
  return (
    `${t.name}: ${t.distro} ${t.version} (${t.arch}), ${plural(t.vcpus, 'vCPU')}, ${formatKiB(sizes.memoryKiB)} memory, ` +
    `${formatKiB(sizes.diskKiB)} disk in pool ${t.pool ?? "'default' (or the host's first)"}, networks ${t.networks.join(', ') || 'none'}`
  );
}

export const group: CommandGroup = {
  name: 'template',
  summary: 'VM templates from the configuration',
  commands: [
    defineCommand({
      path: ['template', 'list'],
      summary: 'list the templates VMs can be created from',
      args: {},
      examples: [
        { input: 'template list', reply: '2 templates: debian12 (debian 12), win2019 (windows 2019)' },
      ],
      async run({ ctx }) {
        const templates = ctx.directory.templates();
        return {
          reply: `${plural(templates.length, 'template')}${templates.length > 0 ? `: ${templates.map((t) => `${t.name} (${t.distro} ${t.version})`).join(', ')}` : ''}`,
          lines: templates.map(describe),
          detail: 'List templates',
        };
      },
    }),
    defineCommand({
      path: ['template', 'show'],
      summary: 'show a template: OS, arch, vCPUs, memory, disk, networks and the devices its OS gets',
      args: { template: arg.name('the template name').positional().required() },
      examples: [
        {
          input: 'template show debian12',
          reply: 'debian12: debian 12 (x86_64), 1 vCPU, 512M memory, 1G disk',
        },
        { input: 'template show win2019', reply: 'NIC e1000, disk bus ide' },
      ],
      async run({ args, ctx }) {
        const t = ctx.directory.template(args.template);
        if (!t) {
          const known = ctx.directory.templates().map((x) => x.name);
          throw new CommandError(
            `no template '${args.template}' (templates: ${known.join(', ') || 'none configured'})`,
          );
        }
        const d = templateDefaults(t);
        return {
          reply: `${describe(t)}; devices: NIC ${d.nicModel}, disk bus ${d.diskBus}, cdrom bus ${d.cdromBus}`,
          detail: `Show template '${args.template}'`,
        };
      },
    }),
  ],
};
