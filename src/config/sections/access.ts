import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a name is letters, digits, . _ -');

/** The proofs that a chat identity is this user. A bare nick is never one of them. */
export const UserSchema = z
  .object({
    /** IRC services accounts, per configured IRC network name. */
    irc: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
    /** Discord user ids (snowflakes). */
    discord: z.array(z.string().regex(/^\d{5,25}$/, 'a Discord user id is a number')).default([]),
    /** nick!user@host globs; honoured only where `allowHostmasks` is set on the user. */
    hostmasks: z.array(z.string()).default([]),
    allowHostmasks: z.boolean().default(false),
    /** Names accepted from the local console and transcripts (`--as NAME`, `<nick>`). */
    local: z.boolean().default(true),
    /** The account name on the hypervisors, for per-VM access (`vm users add`). */
    system: z.string().optional(),
    roles: z.array(name).default([]),
  })
  .strict();

export const GroupSchema = z
  .object({
    members: z.array(name).default([]),
    roles: z.array(name).default([]),
    system: z.string().optional(),
  })
  .strict();

export const RoleSchema = z
  .object({
    /** Globs on permission names: 'vm.*', 'meeting.*', 'host.users.list', '*'. A leading '!' denies. */
    permissions: z.array(z.string().min(1)),
    description: z.string().optional(),
  })
  .strict();

export const AccessSection = {
  users: z.record(name, UserSchema).default({}),
  groups: z.record(name, GroupSchema).default({}),
  roles: z.record(name, RoleSchema).default({}),
  /** Roles every sender has, logged in or not. Empty by default: deny. */
  anonymous: z.object({ roles: z.array(name).default([]) }).strict().default({ roles: [] }),
  /** Discord role id -> virtbot role names, per configured Discord server name. */
  discordRoles: z.record(z.string(), z.record(z.string(), z.array(name))).default({}),
  confirm: z
    .object({ timeoutSeconds: z.number().int().positive().default(120) })
    .strict()
    .default({ timeoutSeconds: 120 }),
};
