import { z } from 'zod';
import { SecretSchema } from './secret.js';

/** Owned by the libvirt layer: hypervisors and VM templates. */
export const SshSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1),
    privateKey: SecretSchema,
    passphrase: SecretSchema.optional(),
    /** The host's public key line ("ssh-ed25519 AAAA…") or a known_hosts file; one is required. */
    hostKey: z.string().optional(),
    knownHosts: z.string().optional(),
    keepaliveSeconds: z.number().positive().default(15),
    timeoutSeconds: z.number().positive().default(30),
  })
  .strict()
  .refine((s) => s.hostKey !== undefined || s.knownHosts !== undefined, {
    message: 'ssh needs hostKey or knownHosts: virtbot never trusts an unknown host key',
  });

/** libvirt object names (pools, networks) as virtbot accepts them everywhere. */
const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
/** Values stored in VM metadata (distro, version): plain words. */
const WORD = /^[A-Za-z0-9_.+-]{1,64}$/;
/** Sizes as the chat grammar reads them: 512M, 1.5G, 10GiB, 1024 (KiB). */
const SIZE = /^\d+(\.\d+)?\s*[kmgtp]?(i?b)?$/i;

/** Which host accounts may be given access to VMs: the regular ones, as the host's login.defs says. */
export const AccountsSchema = z
  .object({
    /** Read UID_MIN/UID_MAX/GID_MIN/GID_MAX from this file on the host. */
    loginDefs: z.string().startsWith('/').default('/etc/login.defs'),
    /** Override what login.defs says (or its defaults, 1000–60000). */
    uidMin: z.number().int().nonnegative().optional(),
    uidMax: z.number().int().nonnegative().optional(),
    gidMin: z.number().int().nonnegative().optional(),
    gidMax: z.number().int().nonnegative().optional(),
    /** How long the host's account lists (getent) are reused. */
    cacheSeconds: z.number().nonnegative().default(60),
  })
  .strict();

export const HostSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a host name is letters, digits, . _ -'),
    uri: z
      .string()
      .min(1)
      .regex(
        /^[a-z][a-z0-9+.-]*:\/\/[^\s'"\\]*$/,
        'a libvirt URI like qemu:///system or qemu+ssh://host/system',
      ),
    ssh: SshSchema.optional(),
    /**
     * Files and directories (absolute) whose contents disks and ISOs may use besides the host's
     * storage pools; device nodes under /dev only when listed here.
     */
    paths: z
      .array(z.string().regex(/^\/(?!.*(^|\/)\.\.(\/|$))[^\0]*$/, 'an absolute path without ..'))
      .optional(),
    /** Host bridges VMs may be connected to with bridge=; none unless listed. */
    bridges: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$/, 'a bridge name')).optional(),
    accounts: AccountsSchema.default({ loginDefs: '/etc/login.defs', cacheSeconds: 60 }),
    /**
     * Whose metadata format holds a VM's OS and access list: virtbot's own element, Kimchi's
     * (`<kimchi:metadata>`: both tools then see the same), or `auto`: Kimchi's on VMs that have
     * Kimchi metadata, virtbot's on the others.
     */
    metadata: z.enum(['auto', 'virtbot', 'kimchi']).default('auto'),
  })
  .strict();

export const TemplateSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/),
    distro: z.string().regex(WORD, 'a distro is one word, e.g. debian, rhel, windows'),
    version: z.string().regex(WORD, 'a version is one word, e.g. 12, 6.5, 11sp3'),
    arch: z
      .string()
      .regex(/^[a-z0-9_]{1,16}$/, 'an arch like x86_64, ppc64le, aarch64')
      .default('x86_64'),
    vcpus: z.number().int().positive().max(4096).default(1),
    memory: z.string().regex(SIZE, 'a size like 512M or 2G').default('1G'),
    disk: z.string().regex(SIZE, 'a size like 10G').default('10G'),
    /** Storage pool of the VM's disk; default: 'default', else the host's first active pool. */
    pool: z.string().regex(OBJECT_NAME, 'a storage pool name').optional(),
    networks: z.array(z.string().regex(OBJECT_NAME, 'a libvirt network name')).default(['default']),
  })
  .strict();

const unique = (what: string) => (items: { name: string }[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${what} '${item.name}' is defined twice` });
    seen.add(item.name);
  });
};

export const HostsSection = {
  hosts: z.array(HostSchema).min(1).superRefine(unique('host')),
  templates: z.array(TemplateSchema).default([]).superRefine(unique('template')),
};

export type SshConfig = z.infer<typeof SshSchema>;
export type AccountsConfig = z.infer<typeof AccountsSchema>;
export type HostConfig = z.infer<typeof HostSchema>;
export type TemplateConfig = z.infer<typeof TemplateSchema>;
