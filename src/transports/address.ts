/**
 * The one place that decides whether a line is said *to the bot*, for every transport (IRC,
 * Discord, the console and transcripts), and strips the address from it.
 *
 * In a channel a line is addressed when it starts with the command prefix (`!vm list`), with
 * the bot's name (`virtbot: vm list`, `virtbot, vm list`, `@virtbot vm list`) or with a platform
 * mention (`<@123…> vm list`). In a direct conversation (a private message, a DM, the console)
 * every line is addressed. Action lines (`/me …`) never are. Everything else is chatter: it goes
 * to the meeting log and nowhere else.
 */

export interface AddressRules {
  /** The command prefix in channels, e.g. '!'. Empty: no prefix addressing. */
  prefix: string;
  /** The bot's names (its current nick, its configured nick), matched case-insensitively. */
  names: readonly string[];
  /** Platform mention ids (Discord's bot user id), for `<@id>` and `<@!id>`. */
  mentionIds?: readonly string[];
}

export interface Conversation {
  /** A private message, a DM or the console: every line is for the bot. */
  direct: boolean;
  /** A `/me` action line. */
  action?: boolean;
}

export type AddressedVia = 'prefix' | 'name' | 'mention' | 'direct' | 'none';

export interface Addressing {
  addressed: boolean;
  /** The line without its address (trimmed when addressed; as said otherwise). */
  text: string;
  via: AddressedVia;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Decides whether `text` is addressed to the bot in this conversation. */
export function address(text: string, conversation: Conversation, rules: AddressRules): Addressing {
  if (conversation.action) return { addressed: false, text, via: 'none' };
  const stripped = stripAddress(text, rules);
  if (stripped) return { addressed: true, text: stripped.text.trim(), via: stripped.via };
  if (conversation.direct) return { addressed: true, text: text.trim(), via: 'direct' };
  return { addressed: false, text, via: 'none' };
}

function stripAddress(text: string, rules: AddressRules): { text: string; via: AddressedVia } | undefined {
  const { prefix } = rules;
  // `!vm list`, but not `! look` or a bare `!`: the prefix must touch a word.
  if (prefix !== '' && text.startsWith(prefix) && /^\S/.test(text.slice(prefix.length))) {
    return { text: text.slice(prefix.length), via: 'prefix' };
  }
  for (const id of rules.mentionIds ?? []) {
    const m = new RegExp(`^<@!?${escapeRegExp(id)}>[\\s,:]*`).exec(text);
    if (m) return { text: text.slice(m[0].length), via: 'mention' };
  }
  for (const name of rules.names) {
    if (name === '') continue;
    // `virtbot: cmd`, `virtbot, cmd`, `@virtbot cmd`, `@virtbot: cmd`.
    const m = new RegExp(
      `^(?:@${escapeRegExp(name)}(?:[:,]\\s*|\\s+)|${escapeRegExp(name)}[:,]\\s*)`,
      'i',
    ).exec(text);
    if (m) return { text: text.slice(m[0].length), via: 'name' };
  }
  return undefined;
}

/** The words a person types back to the bot here: the prefix in a channel, nothing in a direct conversation. */
export function replyPrefix(conversation: Conversation, rules: AddressRules): string {
  return conversation.direct ? '' : rules.prefix;
}
