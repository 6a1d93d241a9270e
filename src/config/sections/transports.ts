import { z } from 'zod';

/** Owned by the transports: IRC networks and Discord servers. Filled in by the transports work. */
export const TransportsSection = {
  irc: z.array(z.object({ name: z.string() }).passthrough()).default([]),
  discord: z.array(z.object({ name: z.string() }).passthrough()).default([]),
};
