/**
 * Who the people of a transcript are: the `; user`, `; role` and `; anonymous` headers become
 * config users and roles on top of the config the transcript runs on, and each said line carries
 * the proof its transport would give.
 *
 * - A declared user is proven as the transport proves people: the IRC services account
 *   (`account=`, default the nick) on every network the transcript names; the Discord user id
 *   (`account=`, default a fixed id per user); the console's and plain transcripts' local proof.
 * - `unidentified`: the line carries no proof at all, so the sender is anonymous whatever the
 *   config says about that name.
 * - Anyone else is vouched for by the transcript, as the console vouches for its user: a
 *   configured user of that name (unless `local: false`) is that user; otherwise anonymous.
 */

import type { Config } from '../config/schema.js';
import { RoleSchema, UserSchema } from '../config/sections/access.js';
import type { Sender } from '../core/types.js';
import type { TransportName } from './render/index.js';
import type { Person, TranscriptHeader } from './syntax.js';

/** A Discord user id for the Nth declared user who names none. */
function discordId(person: Person, index: number): string {
  return person.account ?? `9000000000000000${String(index + 1).padStart(2, '0')}`;
}

export class People {
  private readonly byNick = new Map<string, { person: Person; index: number }>();

  constructor(
    people: readonly Person[],
    private readonly transport: TransportName,
  ) {
    for (const [index, person] of people.entries())
      this.byNick.set(person.nick.toLowerCase(), { person, index });
  }

  /** The sender of a line said by `nick`, with the proof its transport gives. */
  sender(nick: string): Sender {
    const declared = this.byNick.get(nick.toLowerCase());
    if (!declared) return { nick, local: true };
    const { person, index } = declared;
    if (person.unidentified) return { nick };
    if (this.transport === 'irc') return { nick, account: person.account ?? person.nick };
    if (this.transport === 'discord') return { nick, userId: discordId(person, index) };
    return { nick, local: true };
  }

  /** The config with the transcript's users, roles and anonymous roles on top. */
  apply(config: Config, header: TranscriptHeader): Config {
    const users = { ...config.users };
    for (const { person, index } of this.byNick.values()) {
      if (person.unidentified) continue;
      const existing = Object.hasOwn(users, person.nick) ? users[person.nick] : undefined;
      const entry = UserSchema.parse({ ...existing });
      if (person.roles) entry.roles = person.roles;
      if (person.system !== undefined) entry.system = person.system;
      if (this.transport === 'irc') {
        const account = person.account ?? person.nick;
        entry.irc = { ...entry.irc, ...Object.fromEntries(header.networks.map((n) => [n, account])) };
      } else if (this.transport === 'discord') {
        entry.discord = [...entry.discord, discordId(person, index)];
      } else {
        entry.local = true;
      }
      users[person.nick] = entry;
    }
    const roles = { ...config.roles };
    for (const role of header.roles) roles[role.name] = RoleSchema.parse({ permissions: role.permissions });
    // A transcript that names roles for anonymous senders means it: deliberate.
    const anonymous = header.anonymousRoles
      ? { roles: header.anonymousRoles, deliberate: true }
      : config.anonymous;
    return { ...config, users, roles, anonymous };
  }
}
