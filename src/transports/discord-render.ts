/**
 * The Discord renderer: one unit of replies (all the replies to one command) as Discord
 * messages, within the command's budget (budget.ts): a part for the conversation and a part for
 * the requester alone (ephemeral, or a DM). Every piece of reply text is escaped (sanitize.ts);
 * the only formatting is the renderer's own. Every message says `allowed_mentions`: nobody is
 * pinged unless the renderer mentions the requester on purpose, by id. Replies with a card
 * become embeds; confirmation codes get buttons (Reply.actions).
 */
import type { Reply } from '../core/types.js';
import { type BudgetLimits, budget } from './budget.js';
import { discordText, plainLines } from './sanitize.js';
import { chunkText } from './text.js';

export const DISCORD_MESSAGE_LIMIT = 2000;
export const BUTTON_PREFIX = 'virtbot:';

export type ButtonAction = 'confirm' | 'cancel' | 'approve' | 'deny';

const BUTTONS: Record<ButtonAction, { label: string; style: number }> = {
  // Button styles: 1 primary, 2 secondary, 3 success, 4 danger.
  confirm: { label: 'Confirm', style: 4 },
  cancel: { label: 'Cancel', style: 2 },
  approve: { label: 'Approve', style: 3 },
  deny: { label: 'Deny', style: 4 },
};

export interface ButtonJson {
  type: 2;
  style: number;
  label: string;
  custom_id: string;
  disabled?: boolean;
}

export interface ActionRowJson {
  type: 1;
  components: ButtonJson[];
}

export interface EmbedJson {
  title: string;
  fields: Array<{ name: string; value: string; inline: boolean }>;
}

export interface AllowedMentions {
  parse: [];
  users?: string[];
}

/** One message to send. */
export interface DiscordOut {
  content: string;
  /** The same text without escaping, for logs and the 'sent' event. */
  plain: string;
  embeds?: EmbedJson[];
  components?: ActionRowJson[];
  files?: Array<{ attachment: Buffer; name: string }>;
  allowedMentions: AllowedMentions;
  /** The confirmation codes whose buttons are on this message. */
  codes?: string[];
}

export interface DiscordRendering {
  /** For the conversation the command was said in. */
  here: DiscordOut[];
  /** For the requester alone. */
  privately: DiscordOut[];
}

export interface RenderOptions {
  /** The conversation is private already (a DM). */
  direct: boolean;
  limits: BudgetLimits;
  /** Beyond this many 2000-character messages, a part is attached as a file. */
  maxMessages: number;
  /** The requester's user id: mentioned (on purpose) in the channel's "sent to you privately" note. */
  requesterId?: string;
  /** Where the private part goes, for the note: 'privately' (DM) or 'below, only to you' (ephemeral). */
  privately?: string;
}

const NONE: AllowedMentions = { parse: [] };

/** The buttons for a confirmation code, as a row; `disabled` actions are shown greyed out. */
export function buttonRow(
  code: string,
  actions: readonly ButtonAction[],
  disabled: ReadonlySet<ButtonAction> = new Set(),
): ActionRowJson {
  return {
    type: 1,
    components: actions.slice(0, 5).map((action) => ({
      type: 2,
      style: BUTTONS[action].style,
      label: BUTTONS[action].label,
      custom_id: `${BUTTON_PREFIX}${action}:${code}`,
      ...(disabled.has(action) ? { disabled: true } : {}),
    })),
  };
}

/** A card as an embed, within Discord's limits (title 256, 25 fields, name 256, value 1024, 6000 in all). */
export function cardEmbed(card: NonNullable<Reply['card']>): EmbedJson {
  const clip = (text: string, max: number) => {
    const escaped = discordText(text).replace(/\n/g, ' ');
    return escaped.length <= max ? escaped : `${escaped.slice(0, max - 1)}…`;
  };
  let total = 0;
  const fields: EmbedJson['fields'] = [];
  const title = clip(card.title || '-', 256);
  total += title.length;
  for (const field of card.fields.slice(0, 25)) {
    const name = clip(field.name || '-', 256) || '-';
    const value = clip(field.value || '-', 1024) || '-';
    if (total + name.length + value.length > 6000) break;
    total += name.length + value.length;
    fields.push({ name, value, inline: true });
  }
  return { title, fields };
}

/** Escapes each line of text that is not the renderer's own. */
function escapeLines(lines: readonly string[]): string {
  return lines.map((line) => discordText(line)).join('\n');
}

interface Part {
  lines: string[];
  /** Lines at the end that are the renderer's own (notes): not escaped. */
  own: string[];
  cards: EmbedJson[];
  codes: Array<{ code: string; actions: ButtonAction[] }>;
  mentions?: string[];
}

function toMessages(part: Part, maxMessages: number, fileName: string): DiscordOut[] {
  const allowedMentions: AllowedMentions = part.mentions ? { parse: [], users: part.mentions } : NONE;
  const text = [escapeLines(part.lines), ...part.own].filter((t) => t !== '').join('\n');
  const plain = [...part.lines, ...part.own].join('\n');
  let messages: DiscordOut[];
  const chunks = chunkText(text, DISCORD_MESSAGE_LIMIT);
  if (chunks.length <= maxMessages) {
    messages = chunks.map((content) => ({
      content,
      plain: content === text ? plain : content,
      allowedMentions,
    }));
    if (messages.length === 1) messages[0]!.plain = plain;
  } else {
    const first = discordText(part.lines[0] ?? '');
    const note = `… ${part.lines.length - 1} more lines in the attached file`;
    const content = chunkText(`${first}\n${note}`, DISCORD_MESSAGE_LIMIT)[0] ?? note;
    messages = [
      {
        content,
        plain: `${part.lines[0] ?? ''}\n${note}`,
        files: [{ attachment: Buffer.from(`${part.lines.join('\n')}\n`, 'utf8'), name: fileName }],
        allowedMentions,
      },
    ];
  }
  if (messages.length === 0 && (part.cards.length > 0 || part.codes.length > 0)) {
    messages = [{ content: '', plain: '', allowedMentions }];
  }
  if (messages.length > 0) {
    if (part.cards.length > 0) messages[0]!.embeds = part.cards.slice(0, 10);
    if (part.codes.length > 0) {
      const last = messages[messages.length - 1]!;
      last.components = part.codes.slice(0, 5).map((c) => buttonRow(c.code, c.actions));
      last.codes = part.codes.slice(0, 5).map((c) => c.code);
    }
  }
  return messages;
}

/** Renders one unit of replies. Errors are the caller's to mark private (interactions: ephemeral). */
export function renderDiscord(replies: readonly Reply[], options: RenderOptions): DiscordRendering {
  const shown = replies.map((r) => (r.card ? { ...r, lines: [] } : r));
  const out = budget(shown, {
    direct: options.direct,
    limits: options.limits,
    lines: (text) => plainLines(text).filter((l) => l.trim() !== ''),
    movedNote: () => '',
  });
  const here: Part = { lines: out.here, own: [], cards: [], codes: [] };
  const privately: Part = { lines: out.privately, own: [], cards: [], codes: [] };
  if (out.moved > 0) {
    // The budget's own note line: reworded here, with a deliberate mention of the requester.
    here.lines = here.lines.slice(0, -1);
    const who = options.requesterId ? `<@${options.requesterId}> ` : '';
    here.own.push(
      `${who}(${out.moved} more line${out.moved === 1 ? '' : 's'} sent to you ${options.privately ?? 'privately'})`,
    );
    if (options.requesterId) here.mentions = [options.requesterId];
  }
  for (const reply of replies) {
    const part = options.direct || !reply.private ? here : privately;
    if (reply.card) part.cards.push(cardEmbed(reply.card));
    if (reply.confirmCode)
      part.codes.push({ code: reply.confirmCode, actions: reply.actions ?? ['confirm', 'cancel'] });
  }
  return {
    here: toMessages(here, options.direct ? options.maxMessages : 1, 'output.txt'),
    privately: toMessages(privately, options.maxMessages, 'output.txt'),
  };
}
