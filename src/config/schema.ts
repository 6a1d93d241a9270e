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
  })
  .strict();

export const ConfigSchema = z
  .object({
    bot: BotSchema.default({ nick: 'virtbot', prefix: '!', dataDir: './var' }),
    audit: z
      .object({
        file: z.string().optional(),
        rotateBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024),
        rotateDaily: z.boolean().default(true),
        /**
         * Commands that change anything are refused while the audit log's filesystem has less
         * free space than this (bytes), so that the outcomes of running ones still fit.
         */
        minFreeBytes: z
          .number()
          .int()
          .min(0)
          .default(16 * 1024 * 1024),
      })
      .strict()
      .default({ rotateBytes: 64 * 1024 * 1024, rotateDaily: true, minFreeBytes: 16 * 1024 * 1024 }),
    ...HostsSection,
    ...AccessSection,
    ...TransportsSection,
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
