/**
 * Autocomplete (Discord) for a person typing an argument: values this person may use here.
 * Every suggestion that reveals something of a host (its VMs, networks, users, a VM's NICs and
 * disks) is judged first, with the same judge as a command that would list it, on the host the
 * person chose (or each host they may see) — so completion never shows what `vm list` would not.
 */
import { resolveIdentity } from '../auth/identity.js';
import { judge } from '../auth/judge.js';
import type { CommandRegistry } from '../command/registry.js';
import type { ArgSpec, CommandSpec } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import type { Identity, Place } from '../core/types.js';
import type { HostRegistry } from '../libvirt/hosts.js';
import type { Completion, CompletionRequest } from '../transports/transport.js';

/** Discord's limits: 25 choices, 100 characters for a name and a value. */
const MAX_CHOICES = 25;
const MAX_LENGTH = 100;

interface Asker {
  identity: Identity;
  place: Place;
}

export interface CompletionDeps {
  config(): Config;
  registry: CommandRegistry;
  hosts: HostRegistry;
}

export async function complete(deps: CompletionDeps, request: CompletionRequest): Promise<Completion[]> {
  const command = deps.registry.get(request.path.join(' '));
  const arg = command?.args.find((a) => a.name === request.arg);
  if (!command || !arg) return [];
  const config = deps.config();
  const identity = resolveIdentity(config, request.place, request.sender);
  const asker: Asker = { identity, place: request.place };
  const values = await candidates(deps, config, asker, command, arg, request);
  const wanted = request.prefix.toLowerCase();
  return [...new Set(values)]
    .filter((v) => v.length <= MAX_LENGTH && v.toLowerCase().startsWith(wanted))
    .sort()
    .slice(0, MAX_CHOICES)
    .map((v) => ({ name: v, value: v }));
}

async function candidates(
  deps: CompletionDeps,
  config: Config,
  asker: Asker,
  command: CommandSpec,
  arg: ArgSpec,
  request: CompletionRequest,
): Promise<string[]> {
  const chosenHost = typeof request.options['host'] === 'string' ? request.options['host'] : undefined;
  const chosenVm = typeof request.options['vm'] === 'string' ? request.options['vm'] : undefined;
  const hostsFor = (permission: string) =>
    (chosenHost !== undefined ? [chosenHost] : deps.hosts.names()).filter(
      (host) => deps.hosts.names().includes(host) && allowed(config, asker, permission, host),
    );
  const fromHosts = async (permission: string, read: (host: string) => Promise<string[]>) =>
    (await Promise.all(hostsFor(permission).map((host) => read(host).catch(() => [])))).flat();

  // A host is offered where the command itself would be allowed there.
  if (arg.type === 'host') return hostsFor(command.permission);
  if (arg.name === 'template' && allowed(config, asker, 'template.list')) {
    return deps.hosts.templates().map((t) => t.name);
  }
  if (arg.type === 'vm') {
    // A new VM's name is the person's to choose: existing names are no suggestion.
    if (command.target.kind === 'new-vm' && command.target.vm === arg.name) return [];
    return fromHosts('vm.list', (host) => deps.hosts.get(host).listDomainNames());
  }
  if (arg.type === 'network') {
    return fromHosts('network.list', async (host) =>
      (await deps.hosts.get(host).listNetworks()).map((n) => n.name),
    );
  }
  if (arg.type === 'names' && command.path[1] === 'users' && command.path[2] === 'add') {
    return fromHosts('host.users.list', (host) => deps.hosts.get(host).users());
  }
  if (arg.type === 'names' && command.path[1] === 'groups' && command.path[2] === 'add') {
    return fromHosts('host.groups.list', (host) => deps.hosts.get(host).groups());
  }
  if (chosenVm === undefined) return [];
  // What belongs to one VM: its NICs, disks, users and groups, where the person may list them.
  const vmFacts = async (permission: string, read: (host: string) => Promise<string[]>) =>
    (
      await Promise.all(
        hostsFor(permission).map(async (host) => {
          const hv = deps.hosts.get(host);
          if (!(await hv.exists(chosenVm).catch(() => false))) return [];
          return allowed(config, asker, permission, host, chosenVm) ? read(host).catch(() => []) : [];
        }),
      )
    ).flat();
  if (arg.type === 'mac') {
    return vmFacts('vm.nic.list', async (host) =>
      (await deps.hosts.get(host).domain(chosenVm)).nics.map((n) => n.mac),
    );
  }
  if (arg.name === 'target' && command.path[1] === 'disk') {
    return vmFacts('vm.disk.list', async (host) =>
      (await deps.hosts.get(host).domain(chosenVm, { inactive: true })).disks.map((d) => d.target),
    );
  }
  if (arg.type === 'names' && (command.path[1] === 'users' || command.path[1] === 'groups')) {
    const kind = command.path[1];
    return vmFacts(`vm.${kind}.list`, async (host) => {
      const meta = (await deps.hosts.get(host).domain(chosenVm, { inactive: true })).metadata;
      return kind === 'users' ? meta.users : meta.groups;
    });
  }
  return [];
}

function allowed(config: Config, asker: Asker, permission: string, host?: string, vm?: string): boolean {
  return judge(config, {
    identity: asker.identity,
    command: { permission, open: false, destructive: false, target: { kind: vm ? 'vm' : 'host' }, args: [] },
    args: {},
    place: asker.place,
    ...(host !== undefined ? { host } : {}),
    ...(vm !== undefined ? { vm } : {}),
  }).allowed;
}
