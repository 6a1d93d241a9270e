/**
 * The configuration of `config/example.yaml` — its users, groups, roles, rules and per-VM access —
 * on two test hosts instead of real ones: `lab` on test:///default (VM `test`) and `prod-1` on
 * test/fixtures/libvirt/prod-node.xml (VMs `web-prod`, `db-prod`). Tests of the rules read the
 * example itself, so the example and its tests cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';

export const PROD_NODE = resolve('test/fixtures/libvirt/prod-node.xml');

/** The example's access settings on the two test hosts; transports and secrets left out. */
export function exampleConfig(extra: Partial<ConfigInput> = {}): ConfigInput {
  const example = parse(readFileSync('config/example.yaml', 'utf8')) as ConfigInput;
  const { irc: _irc, discord: _discord, hosts: _hosts, bot: _bot, audit: _audit, ...access } = example;
  return {
    ...access,
    hosts: [
      { name: 'lab', uri: 'test:///default' },
      { name: 'prod-1', uri: `test://${PROD_NODE}` },
    ],
    // The example's templates name a pool 'default', which lab (test:///default) lacks: there
    // they fall back to the host's first pool, as a template without a pool does.
    templates: (access.templates ?? []).map(({ pool: _pool, ...template }) => template),
    // The example's rate limits would slow a test that says many lines: keep them off here.
    rateLimits: { exemptRoles: [] },
    ...extra,
  };
}
