import { z } from 'zod';
import { AccessSection } from './sections/access.js';
import { HostsSection } from './sections/hosts.js';
import { TransportsSection } from './sections/transports.js';

export const BotSchema = z
  .object({
    nick: z.string().default('virtbot'),
    /** Prefix for addressed commands in channels: `!vm list`. */
    prefix: z.string().default('!'),
    /** Where the audit log, meeting journals and minutes live. */
    dataDir: z.string().default('./var'),
    minutesDir: z.string().optional(),
    /** Base URL the minutes are served from, for the links in "Meeting ended" replies. */
    minutesUrl: z.string().optional(),
    /** Lines longer than this (bytes) are refused before they are parsed. */
    maxLineBytes: z.number().int().min(64).max(65536).default(4096),
  })
  .strict();

export const ConfigSchema = z
  .object({
    bot: BotSchema.default({ nick: 'virtbot', prefix: '!', dataDir: './var', maxLineBytes: 4096 }),
    audit: z
      .object({
        file: z.string().optional(),
        rotateBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024),
        rotateDaily: z.boolean().default(true),
      })
      .strict()
      .default({ rotateBytes: 64 * 1024 * 1024, rotateDaily: true }),
    ...HostsSection,
    ...AccessSection,
    ...TransportsSection,
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
