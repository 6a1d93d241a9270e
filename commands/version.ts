/** `version`: virtbot's version and libvirt's and the hypervisor's on every host. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandGroup } from '../src/command/spec.js';
import { messageOf } from '../src/libvirt/virsh-shell.js';
import { defineFleetCommand } from '../src/pipeline/define.js';

/** virtbot's version from its package.json (found upwards from this module, in src or dist). */
export function virtbotVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'virtbot' && pkg.version) return pkg.version;
    } catch {
      // not here
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const group: CommandGroup = {
  name: 'version',
  summary: 'versions of virtbot, libvirt and the hypervisors',
  commands: [
    defineFleetCommand({
      path: ['version'],
      summary: 'show virtbot’s version and libvirt’s and the hypervisor’s on every host you may see',
      args: {},
      examples: [
        { input: 'version', reply: /^virtbot \d+\.\d+\.\d+; test: libvirt 9\.\d+\.\d+, TEST 0\.0\.2/ },
      ],
      async run({ ctx }) {
        const parts = await Promise.all(
          ctx.hosts.map(async ({ name, hv }) => {
            try {
              const v = await hv.version();
              return `${name}: libvirt ${v.daemon ?? v.library}, ${v.hypervisor}`;
            } catch (error) {
              return `${name}: unreachable (${messageOf(error)})`;
            }
          }),
        );
        return { reply: `virtbot ${virtbotVersion()}; ${parts.join('; ')}`, detail: 'Show versions' };
      },
    }),
  ],
};
