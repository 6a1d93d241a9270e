import { z } from 'zod';
import { AccessSection } from './sections/access.js';
import { HostsSection } from './sections/hosts.js';
import { OpsSection } from './sections/ops.js';
import { StoreSection } from './sections/store.js';
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

/** Meetings: when a meeting left open may be ended by anyone, and when it ends by itself. */
export const MeetingsSchema = z
  .object({
    /** Minutes without a line from a chair after which anyone may #endmeeting (0: never). */
    idleEndMinutes: z.number().int().min(0).default(60),
    /** Hours without any line after which an open meeting is ended and its minutes written (0: never). */
    autoEndHours: z.number().min(0).default(24),
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
    meetings: MeetingsSchema.default({ idleEndMinutes: 60, autoEndHours: 24 }),
    ...HostsSection,
    ...AccessSection,
    ...TransportsSection,
    ...OpsSection,
    ...StoreSection,
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
