/**
 * Who is speaking, as far as the transport can prove it. The proof is the IRC services account,
 * the Discord user id, a hostmask only where the user's config allows it, or the local console.
 * A bare nick proves nothing: an unproven sender is anonymous.
 */
import type { Config } from '../config/schema.js';
import { sameAccount } from '../core/names.js';
import type { Identity, Place, Sender } from '../core/types.js';
import { globToRegExp } from './glob.js';

type UserEntry = Config['users'][string];

export function resolveIdentity(config: Config, place: Place, sender: Sender): Identity {
  const found = findUser(config, place, sender);
  if (!found) {
    return {
      user: null,
      groups: [],
      roles: [...config.anonymous.roles],
      proof: 'anonymous',
      nick: sender.nick,
    };
  }
  const [name, entry, proof] = found;
  return configuredIdentity(config, name, entry, proof, sender.nick, discordRoles(config, place, sender));
}

function configuredIdentity(
  config: Config,
  name: string,
  entry: UserEntry,
  proof: string,
  nick: string,
  extraRoles: readonly string[] = [],
): Identity {
  const groups = Object.entries(config.groups)
    .filter(([, group]) => group.members.includes(name))
    .map(([groupName]) => groupName);
  const roles = new Set<string>([...config.anonymous.roles, ...entry.roles]);
  for (const group of groups) for (const role of config.groups[group]!.roles) roles.add(role);
  for (const role of extraRoles) roles.add(role);
  const identity: Identity = { user: name, groups, roles: [...roles], proof, nick };
  if (entry.system !== undefined) identity.systemAccount = entry.system;
  return identity;
}

function findUser(config: Config, place: Place, sender: Sender): [string, UserEntry, string] | undefined {
  const users = Object.entries(config.users);
  if (place.transport === 'irc' && sender.account) {
    const account = sender.account;
    for (const [name, entry] of users) {
      const accounts = [Object.hasOwn(entry.irc, place.network) ? entry.irc[place.network]! : []].flat();
      if (accounts.some((a) => sameAccount(a, account))) return [name, entry, 'irc-account'];
    }
  }
  if (place.transport === 'discord' && sender.userId) {
    for (const [name, entry] of users)
      if (entry.discord.includes(sender.userId)) return [name, entry, 'discord-id'];
  }
  if (sender.local) {
    const entry = Object.hasOwn(config.users, sender.nick) ? config.users[sender.nick] : undefined;
    if (entry?.local) return [sender.nick, entry, 'local'];
  }
  if (place.transport === 'irc' && sender.hostmask) {
    // A hostmask proves something only on the network it was configured for.
    for (const [name, entry] of users) {
      const masks = Object.hasOwn(entry.hostmasks, place.network) ? entry.hostmasks[place.network]! : [];
      if (entry.allowHostmasks && masks.some((mask) => globToRegExp(mask, 'i').test(sender.hostmask!))) {
        return [name, entry, 'hostmask'];
      }
    }
  }
  return undefined;
}

function discordRoles(config: Config, place: Place, sender: Sender): string[] {
  if (place.transport !== 'discord' || !sender.roleIds) return [];
  const mapping = Object.hasOwn(config.discordRoles, place.network)
    ? config.discordRoles[place.network]!
    : {};
  return sender.roleIds.flatMap((id) => (Object.hasOwn(mapping, id) ? mapping[id]! : []));
}

/**
 * The identity a configured user has wherever a proof of theirs is accepted (without Discord
 * roles, which depend on the server): for `permissions check`. `anonymous` is the unidentified
 * sender. Undefined for a name the config does not know.
 */
export function identityOfUser(config: Config, name: string): Identity | undefined {
  if (name === 'anonymous') {
    return { user: null, groups: [], roles: [...config.anonymous.roles], proof: 'anonymous', nick: name };
  }
  const entry = Object.hasOwn(config.users, name) ? config.users[name] : undefined;
  return entry && configuredIdentity(config, name, entry, 'config', name);
}
