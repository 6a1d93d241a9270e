/**
 * What Discord users see of a set of replies, modelled on the Discord transport's output rules:
 *
 * - replies become messages of at most 2000 characters (split at line ends where possible); more
 *   than `maxMessages` of them become one message with the first line and "… N more lines in the
 *   attached file", and the file;
 * - in a server channel private replies are ephemeral for a slash command or a button ("only you
 *   can see this": shown in the channel to their author alone), and direct messages for a typed
 *   command; in a DM everything is a direct message;
 * - an interaction that produced nothing still answers, ephemerally: "Done (no output).";
 * - a reply with a confirmation code gets a row of buttons for its actions (`[Confirm] [Cancel]`);
 * - a reply's card is an embed (its title, then `name: value` lines);
 * - mentions in the text are escaped (`\@everyone`, `\<@123>`): the bot's words never ping anyone;
 * - an unknown `!command` in a channel gets no answer.
 */
import { replyLines } from '../../core/reply.js';
import type { Reply } from '../../core/types.js';
import { chunkText } from '../../transports/text.js';
import { type Delivery, type Renderer, type SeenLine, silentHere, whereOf } from './types.js';

export const DISCORD_MESSAGE_LIMIT = 2000;

export interface DiscordRenderOptions {
  /** Replies longer than this many messages are attached as a file instead. Default 3. */
  maxMessages?: number;
}

/** Mentions that would ping someone, escaped so that they show as text. */
export function escapeMentions(text: string): string {
  return text.replace(/@(everyone|here)\b/g, '\\@$1').replace(/<@[!&]?\d+>/g, (m) => `\\${m}`);
}

const LABELS: Record<string, string> = {
  confirm: 'Confirm',
  cancel: 'Cancel',
  approve: 'Approve',
  deny: 'Deny',
};

/** A button's label for an action, and the action a label presses. */
export function buttonLabel(action: string): string {
  return LABELS[action] ?? action;
}

export function discordRenderer(options: DiscordRenderOptions = {}): Renderer {
  const maxMessages = options.maxMessages ?? 3;
  return (input) => {
    const { place, requester } = input;
    const inGuild = !place.private;
    const shown = input.replies.filter((r) => !silentHere(r, input));
    const publicReplies = shown.filter((r) => !(r.private && inGuild));
    const privateReplies = shown.filter((r) => r.private && inGuild);
    const seen: SeenLine[] = [];
    let message = 0;
    const send = (replies: Reply[], where: string, delivery: Delivery, to?: string) => {
      if (replies.length === 0) return;
      const line = (text: string, kind: Delivery, extra: Partial<SeenLine> = {}) =>
        seen.push({
          text,
          network: place.network,
          where,
          delivery: kind,
          message,
          ...(to ? { to } : {}),
          ...extra,
        });
      const text = escapeMentions(replies.flatMap(replyLines).join('\n'));
      const chunks = chunkText(text, DISCORD_MESSAGE_LIMIT);
      if (chunks.length > maxMessages) {
        const lines = text.split('\n');
        line(lines[0] ?? '', delivery);
        line(`… ${lines.length - 1} more lines in the attached file`, delivery);
        line(`output.txt (${lines.length} lines)`, 'file');
      } else {
        for (const [i, chunk] of (chunks.length > 0 ? chunks : ['…']).entries()) {
          if (i > 0) message++;
          for (const text of chunk.split('\n')) line(text, delivery);
        }
      }
      for (const reply of replies) {
        if (reply.card) {
          line(reply.card.title, 'embed');
          for (const field of reply.card.fields) line(`${field.name}: ${field.value}`, 'embed');
        }
      }
      for (const reply of replies) {
        if (!reply.confirmCode) continue;
        const actions = reply.actions ?? ['confirm', 'cancel'];
        line(actions.map((a) => `[${buttonLabel(a)}]`).join(' '), 'buttons', {
          buttons: { code: reply.confirmCode, actions },
        });
      }
      message++;
    };
    // An interaction must be answered: with nothing to say, privately.
    const nothing: Reply[] =
      input.interaction && shown.length === 0
        ? [{ text: 'Done (no output).', kind: 'reply', private: true }]
        : [];
    if (!inGuild) {
      send([...shown, ...nothing], 'private', 'dm', place.channel);
    } else {
      send(publicReplies, whereOf(place), 'message');
      if (input.interaction) send([...privateReplies, ...nothing], whereOf(place), 'ephemeral', requester);
      else if (requester !== undefined) send(privateReplies, 'private', 'dm', requester);
    }
    for (const reply of shown) {
      if (reply.setTopic !== undefined && inGuild)
        seen.push({
          text: reply.setTopic,
          network: place.network,
          where: whereOf(place),
          delivery: 'topic',
          message: message++,
        });
    }
    return seen;
  };
}
