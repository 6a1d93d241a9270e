/**
 * What IRC users see of a set of replies, modelled on the IRC transport's output rules:
 *
 * - every line fits IRC's 512-byte line limit once the server adds `:nick!~user@host` (split at
 *   word boundaries, never inside a UTF-8 sequence: `splitLines`);
 * - in a channel a reply shows at most `maxChannelLines` lines; a longer one shows the first
 *   lines, then `nick: (N more lines sent to you privately)`, and the rest goes to the requester
 *   as private NOTICEs;
 * - private replies are NOTICEs to the requester (PRIVMSG with `privateAs: privmsg`, and always
 *   in a private conversation);
 * - an unknown `!command` in a channel gets no answer (another bot may be the one addressed);
 * - a topic the reply asks for is set on the channel.
 *
 * Prompts are worded by the pipeline with the message's `replyPrefix` (`!confirm CODE` in a
 * channel), which the runner sets as the IRC transport does.
 */
import { replyLines } from '../../core/reply.js';
import { splitLines } from '../../transports/text.js';
import { type Delivery, type Renderer, type SeenLine, silentHere, whereOf } from './types.js';

/** RFC 1459: a whole line, including the sender prefix the server adds and CR LF. */
export const IRC_LINE_BYTES = 512;
/** The longest host part assumed for the bot's own `nick!user@host` (the server may cloak it). */
const ASSUMED_HOST_BYTES = 63;

export interface IrcRenderOptions {
  botNick: string;
  /** The bot's IRC username (ident); default derived from the nick, as the transport does. */
  username?: string;
  /** Lines of one reply shown in a channel before the rest goes privately. Default 4. */
  maxChannelLines?: number;
  /** How private replies are sent. Default 'notice'. */
  privateAs?: 'notice' | 'privmsg';
}

/** Bytes left for the text of `COMMAND target :text` once the server adds `:nick!~user@host `. */
export function ircTextBytes(options: IrcRenderOptions, command: string, target: string): number {
  const user = options.username ?? (options.botNick.replace(/[^A-Za-z0-9]/g, '').slice(0, 10) || 'virtbot');
  const prefix = 1 + Buffer.byteLength(options.botNick) + 1 + (user.length + 1) + 1 + ASSUMED_HOST_BYTES + 1;
  return IRC_LINE_BYTES - (prefix + command.length + 1 + Buffer.byteLength(target) + 2 + 2);
}

export function ircRenderer(options: IrcRenderOptions): Renderer {
  const maxLines = options.maxChannelLines ?? 4;
  const privateCommand = options.privateAs === 'privmsg' ? 'PRIVMSG' : 'NOTICE';
  return (input) => {
    const { place, requester } = input;
    const seen: SeenLine[] = [];
    let message = 0;
    const emit = (text: string, where: string, delivery: Delivery, to?: string) =>
      seen.push({ text, network: place.network, where, delivery, message: message++, ...(to ? { to } : {}) });
    const toRequester = (lines: string[], delivery: Delivery) => {
      for (const text of lines) emit(text, 'private', delivery, requester);
    };
    for (const reply of input.replies) {
      if (silentHere(reply, input)) continue;
      const text = replyLines(reply).join('\n');
      if (place.private) {
        // A private conversation: every line is a PRIVMSG to the person, with no line budget.
        for (const line of splitLines(text, ircTextBytes(options, 'PRIVMSG', place.channel)))
          emit(line, 'private', 'message', place.channel);
      } else if (reply.private) {
        if (requester !== undefined)
          toRequester(splitLines(text, ircTextBytes(options, privateCommand, requester)), 'notice');
      } else {
        // Each line must fit both in the channel and, should it overflow, in a private notice.
        const limit = Math.min(
          ircTextBytes(options, 'PRIVMSG', place.channel),
          requester === undefined
            ? Number.POSITIVE_INFINITY
            : ircTextBytes(options, privateCommand, requester),
        );
        const lines = splitLines(text, limit);
        if (lines.length <= maxLines || requester === undefined) {
          for (const line of lines) emit(line, whereOf(place), 'message');
        } else {
          const shown = lines.slice(0, maxLines - 1);
          const rest = lines.slice(shown.length);
          for (const line of shown) emit(line, whereOf(place), 'message');
          emit(
            `${requester}: (${rest.length} more line${rest.length === 1 ? '' : 's'} sent to you privately)`,
            whereOf(place),
            'message',
          );
          toRequester(rest, 'notice');
        }
      }
      if (reply.setTopic !== undefined && !place.private) emit(reply.setTopic, whereOf(place), 'topic');
    }
    return seen;
  };
}
