import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a name is letters, digits, . _ -');

/** The proofs that a chat identity is this user. A bare nick is never one of them. */
export const UserSchema = z
  .object({
    /** IRC services accounts, per configured IRC network name. */
    irc: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
    /** Discord user ids (snowflakes). */
    discord: z.array(z.string().regex(/^\d{5,25}$/, 'a Discord user id is a number')).default([]),
    /**
     * nick!user@host globs per configured IRC network name (`{ libera: ['*!*@user/alice'] }`):
     * honoured only where `allowHostmasks` is set on the user, and only on that network.
     */
    hostmasks: z
      .record(z.string(), z.array(z.string().min(1)), {
        error: 'hostmasks are per IRC network: hostmasks: { NETWORK: ["nick!user@host glob", …] }',
      })
      .default({}),
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
    /** The group's name on the hypervisors: members get the per-VM access of this system group. */
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

const glob = z.string().min(1).max(200);
/** A channel glob ('#ops', '#lab-*') or the word 'private' for private messages and DMs. */
const placeGlob = z.string().min(1).max(200);
/**
 * An argument condition: a glob on the value's text ('prod-*'), a comparison on a number or
 * size ('>=8', '>16G'), or a boolean. A list argument matches when one of its names matches.
 */
const argCondition = z.union([
  z.boolean(),
  z.number(),
  z
    .string()
    .min(1)
    .max(200)
    .refine((text) => !/^[<>]=?\s*$/.test(text), 'a comparison needs a number: >8, <=16G'),
]);

/**
 * A policy rule, in the spirit of Cog's: it matches on the command (permission glob), the target
 * host and VM, where it was said, and the arguments; its effect decides. Of the rules that match
 * a request, the most specific wins (most conditions, then longest literal text, then the most
 * restrictive effect). Requests no rule matches fall back to the roles' permission globs and to
 * per-VM access; when nothing grants, the answer is no.
 */
export const RuleSchema = z
  .object({
    /** Shown in denials and in `permissions check`; defaults to 'rule N' (1-based). */
    name: z.string().min(1).max(80).optional(),
    /** Permission glob: 'vm.*', 'vm.delete'. Default '*'. */
    permission: glob.optional(),
    /** Target host glob ('prod-*'): the rule matches only commands aimed at such a host. */
    host: glob.optional(),
    /** Target VM glob ('db-*'). */
    vm: glob.optional(),
    /** The rule matches only here: channel globs and/or 'private'. */
    channels: z.array(placeGlob).min(1).optional(),
    /** The rule matches only outside these places: channel globs and/or 'private'. */
    notChannels: z.array(placeGlob).min(1).optional(),
    /** Argument conditions, all of which must hold: `{ network: 'prod-*', memory: '>16G' }`. */
    args: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/i), argCondition).optional(),
    /**
     * snapshot-first: the command runs only after virtbot took a snapshot of the VM it acts on
     * (recorded; a failed snapshot stops the command). It grants nothing by itself.
     */
    effect: z.enum(['allow', 'deny', 'require-role', 'require-approval', 'snapshot-first']),
    /**
     * require-role: the roles that may run it (any one suffices). require-approval: if given, the
     * requester must hold one of them; otherwise the roles' globs / per-VM access must allow it.
     */
    roles: z.array(name).min(1).optional(),
    /** require-approval: who may `approve CODE` (any one of these roles). Default ['approver']. */
    approvers: z.array(name).min(1).optional(),
    /** The reason given with the decision. */
    reason: z.string().max(200).optional(),
  })
  .strict()
  .refine((rule) => rule.effect !== 'require-role' || rule.roles !== undefined, {
    message: "effect 'require-role' needs 'roles'",
    path: ['roles'],
  });

/** A budget of `count` commands per `seconds` (a token bucket: bursts up to `count`). */
const LimitSchema = z
  .object({ count: z.number().int().positive().max(100_000), seconds: z.number().positive().max(86_400) })
  .strict();

/** What per-VM access gives by default: reading the VM, its power, its console. */
export const PER_VM_DEFAULT = [
  'vm.info',
  'vm.*.list',
  'vm.start',
  'vm.shutdown',
  'vm.reboot',
  'vm.stop',
  'vm.reset',
  'vm.suspend',
  'vm.resume',
  'vm.console',
  'vm.ip',
  'vm.stats',
  'vm.agent.info',
] as const;

export const AccessSection = {
  users: z.record(name, UserSchema).default({}),
  groups: z.record(name, GroupSchema).default({}),
  roles: z.record(name, RoleSchema).default({}),
  /** Policy rules on top of the roles. See RuleSchema. */
  rules: z.array(RuleSchema).default([]),
  /**
   * Roles every sender has, logged in or not. Empty by default: deny. Roles granting more than
   * help, whoami and version (and allow rules, which apply to everyone) are refused at start
   * unless `deliberate: true` says that this is meant (a demo, a lab).
   */
  anonymous: z
    .object({ roles: z.array(name).default([]), deliberate: z.boolean().default(false) })
    .strict()
    .default({ roles: [], deliberate: false }),
  /** Discord role id -> virtbot role names, per configured Discord server name. */
  discordRoles: z.record(z.string(), z.record(z.string(), z.array(name))).default({}),
  confirm: z
    .object({ timeoutSeconds: z.number().int().positive().default(120) })
    .strict()
    .default({ timeoutSeconds: 120 }),
  /**
   * Per-VM access: users named in a VM's `<access>` (by their `system` account) and members of its
   * groups may run these permissions on that VM — by default what reads it, powers it and opens
   * its console, and never `vm.delete`, `vm.users.*` or `vm.groups.*`, whatever is listed here.
   * Destructive ones still ask for confirmation. A leading '!' excludes. A per-VM grant never
   * covers arguments naming host resources (paths, bridges): those need a role.
   */
  vmAccess: z
    .object({
      enabled: z.boolean().default(true),
      permissions: z.array(z.string().min(1)).default([...PER_VM_DEFAULT]),
    })
    .strict()
    .default({ enabled: true, permissions: [...PER_VM_DEFAULT] }),
  /** Command rate limits; none unless configured. Roles in `exemptRoles` are not counted. */
  rateLimits: z
    .object({
      perIdentity: LimitSchema.optional(),
      perChannel: LimitSchema.optional(),
      exemptRoles: z.array(name).default([]),
    })
    .strict()
    .default({ exemptRoles: [] }),
};
