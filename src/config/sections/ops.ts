/** The `events:` and `tasks:` sections: where libvirt events are posted, and when long work becomes a task. */
import { z } from 'zod';
import { EVENT_KINDS } from '../../events/types.js';

const glob = z.string().regex(/^[A-Za-z0-9_.*?+-]{1,64}$/, 'a glob of letters, digits, . _ + - * ?');

/** A place that always gets events (besides those set up in chat with `events on`). */
const EventChannelSchema = z
  .object({
    /** 'irc' or 'discord' (or 'console'). */
    transport: z.string().min(1),
    /** The configured IRC network or Discord server name. */
    network: z.string().default(''),
    /** '#ops' on IRC; the channel id on Discord. */
    channel: z.string().min(1),
    host: glob.default('*'),
    vm: glob.default('*'),
    kinds: z.array(z.enum(EVENT_KINDS)).min(1).optional(),
  })
  .strict();

export const EventsSchema = z
  .object({
    channels: z.array(EventChannelSchema).default([]),
    /** A place's events are gathered this long after the first, then posted together. */
    coalesceSeconds: z.number().min(0).max(300).default(2),
    /** This many or more events of one kind on one host become one line. */
    coalesceAt: z.number().int().min(2).max(1000).default(3),
    /** At most `burst` event lines per `perSeconds` in one place (IRC flood limits). */
    burst: z.number().int().min(1).max(100).default(4),
    perSeconds: z.number().min(1).max(3600).default(10),
  })
  .strict();

export const TasksSchema = z
  .object({
    /** A command whose work is still going on after this long becomes a task with an id. */
    afterSeconds: z.number().min(0).max(600).default(3),
    /** For transcripts and tests: every long-work command is a task, awaited within the turn. */
    inline: z.boolean().default(false),
  })
  .strict();

export const OpsSection = {
  events: EventsSchema.default({ channels: [], coalesceSeconds: 2, coalesceAt: 3, burst: 4, perSeconds: 10 }),
  tasks: TasksSchema.default({ afterSeconds: 3, inline: false }),
};
