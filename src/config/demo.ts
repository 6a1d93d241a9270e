/**
 * The embedded default: one host on libvirt's test driver, where everybody may run every
 * command. A real configuration denies by default; this one exists so that a new user can try
 * virtbot with nothing set up.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from './load.js';
import type { Config } from './schema.js';

export function demoConfig(dataDir = join(tmpdir(), `virtbot-demo-${process.pid}`)): Config {
  return validateConfig({
    bot: { nick: 'virtbot', prefix: '!', dataDir },
    hosts: [{ name: 'test', uri: 'test:///default' }],
    templates: [
      {
        name: 'debian12',
        distro: 'debian',
        version: '12',
        arch: 'x86_64',
        vcpus: 1,
        memory: '512M',
        disk: '1G',
      },
      {
        name: 'win2019',
        distro: 'windows',
        version: '2019',
        arch: 'x86_64',
        vcpus: 2,
        memory: '2G',
        disk: '2G',
      },
    ],
    roles: { demo: { permissions: ['*'], description: 'everything (demo only)' } },
    // Everybody may do everything, on purpose: the demo touches only libvirt's test driver.
    anonymous: { roles: ['demo'], deliberate: true },
  });
}
