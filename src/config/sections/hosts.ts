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

export const HostSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a host name is letters, digits, . _ -'),
    uri: z.string().min(1),
    ssh: SshSchema.optional(),
  })
  .strict();

export const TemplateSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/),
    distro: z.string(),
    version: z.string(),
    arch: z.string().default('x86_64'),
    vcpus: z.number().int().positive().default(1),
    memory: z.string().default('1G'),
    disk: z.string().default('10G'),
    /** Storage pool of the VM's disk; default: 'default', else the host's first active pool. */
    pool: z.string().optional(),
    networks: z.array(z.string()).default(['default']),
  })
  .strict();

export const HostsSection = {
  hosts: z.array(HostSchema).min(1),
  templates: z.array(TemplateSchema).default([]),
};

export type SshConfig = z.infer<typeof SshSchema>;
export type HostConfig = z.infer<typeof HostSchema>;
export type TemplateConfig = z.infer<typeof TemplateSchema>;
