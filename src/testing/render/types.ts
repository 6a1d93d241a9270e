/**
 * What people see of the bot's replies, as a transcript models it: one `SeenLine` per line a
 * person reads, saying where it shows and who sees it. A renderer turns the pipeline's `Reply[]`
 * for one said line (or one announcement) into these, the way its transport would send them.
 *
 * These renderers are the transcript runner's models of the transports. When the IRC and Discord
 * transports have renderers of their own that return plain data, `rendererFor` (./index.ts) is
 * the one place to switch to them: adapt their output to `SeenLine[]` there.
 */
import type { Place, Reply } from '../../core/types.js';
import type { AddressedVia } from '../../transports/address.js';

/** How a line reaches people. */
export type Delivery =
  /** A channel line, or a line of a Discord message (PRIVMSG in a private IRC conversation). */
  | 'message'
  /** IRC: a private NOTICE (or PRIVMSG) to one person outside of a private conversation. */
  | 'notice'
  /** Discord: shown in the channel to its author only ("Only you can see this"). */
  | 'ephemeral'
  /** Discord: a direct message. */
  | 'dm'
  /** Discord: a row of buttons under a message (`[Confirm] [Cancel]`). */
  | 'buttons'
  /** Discord: a line of an embed (a reply's card). */
  | 'embed'
  /** Discord: a file attached instead of messages too many to send. */
  | 'file'
  /** The channel's topic was set to this. */
  | 'topic';

export interface SeenLine {
  text: string;
  /** The network (IRC) or server (Discord) of the conversation; '' when the transcript names none. */
  network: string;
  /** '#channel' where it shows, or 'private' for a private conversation with `to`. */
  where: string;
  /** Only this person sees it; absent: everyone in the channel. */
  to?: string;
  delivery: Delivery;
  /** Lines of one message share a number (Discord messages; every IRC line is a message of its own). */
  message: number;
  /** For a button row: the confirmation code its buttons act on, and the actions they offer. */
  buttons?: { code: string; actions: string[] };
}

export interface RenderInput {
  replies: readonly Reply[];
  /** Where the line that caused them was said (an announcement: where it is posted). */
  place: Place;
  /** Who said that line: private replies and overflow go to them. Absent for announcements. */
  requester?: string;
  /** How the line was addressed: an unknown `!command` in a channel may be another bot's. */
  via?: AddressedVia;
  /** Discord: the line was a slash command or a button press (private replies are ephemeral). */
  interaction?: boolean;
}

export type Renderer = (input: RenderInput) => SeenLine[];

/** Where a place's lines show: its channel, or 'private'. */
export function whereOf(place: Place): string {
  return place.private ? 'private' : place.channel;
}

/**
 * The unknown-command rule: in a channel a `!word` no command has may be for another bot there,
 * so the chat transports stay silent about it; said to the bot by name or privately, it is answered.
 */
export function silentHere(reply: Reply, input: RenderInput): boolean {
  return reply.unknownCommand === true && !input.place.private && input.via === 'prefix';
}
