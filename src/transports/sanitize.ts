/**
 * The one outbound sanitizer of every transport. Whatever ends up in a reply — a VM name, a
 * libvirt error, a person's own words echoed back — is text, and must reach the chat as text:
 *
 * - No control characters reach IRC or a terminal: CTCP's \x01, ESC sequences, BEL, CR, NUL,
 *   IRC formatting codes, C1 controls, DEL. They are shown as `<U+001B>` instead, so that what
 *   was there stays visible (and a CTCP or a terminal escape can never be smuggled out).
 * - Characters that change how text around them reads without being seen — bidi overrides and
 *   isolates, zero-width characters, the BOM, line/paragraph separators, tag characters — are
 *   shown the same way (`<U+202E>`).
 * - Unpaired surrogates (not valid UTF-8 on the wire) become U+FFFD.
 * - On Discord, every piece of text that is not the bot's own formatting is escaped for Markdown,
 *   and `@everyone` / `@here` / `<@…>` / `<#…>` cannot form mentions (messages also carry
 *   `allowed_mentions: { parse: [] }`; see discord.ts).
 *
 * Each transport's renderer runs every line it sends through these functions, and only these.
 */

/** Invisible characters that change how text reads: shown as <U+XXXX>. */
const INVISIBLE =
  /[\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufffb]|[\u{e0000}-\u{e007f}]/gu;
/** C0 controls except TAB and LF, DEL and C1 controls. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** `<U+202E>`: how a character that must not act is shown. */
export function codePointName(ch: string): string {
  return `<U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`;
}

/** Unpaired surrogates → U+FFFD (Node 20 has String#toWellFormed). */
function wellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed();
}

/**
 * Splits text into lines (LF, CR LF) and makes each one plain: no control characters (tabs
 * become spaces; a lone CR is shown), no invisible characters. The lines of IRC, the console and
 * the parts of a Discord message all start here.
 */
export function plainLines(text: string): string[] {
  return wellFormed(text)
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => plainLine(line));
}

/** One line of plain text: as plainLines, with any LF shown rather than kept. */
export function plainLine(text: string): string {
  return wellFormed(text)
    .replace(/\t/g, ' ')
    .replace(CONTROL, codePointName)
    .replace(/\n/g, codePointName)
    .replace(INVISIBLE, codePointName);
}

/** A line for IRC (PRIVMSG/NOTICE text, TOPIC): plain. */
export const ircLine = plainLine;

/** A line for a terminal (the console): plain. */
export const consoleLine = plainLine;

/** Discord Markdown that acts anywhere in a line: a backslash turns it back into literal text. */
const DISCORD_INLINE = /[\\*_~`|[\]<]/g;
/** Discord Markdown that acts at the start of a line: headers, quotes, lists, subtext. */
const DISCORD_LINE_START = /^(\s*)([#>\-+]|\d+\.)/;
/** Links are left as they are (escaping would break them); with no mentions parsed they cannot ping. */
const LINK = /(https?:\/\/[^\s<>]+)/;

/**
 * A piece of text for a Discord message, embed field or button label that is not the bot's own
 * formatting: plain (as above), Markdown-escaped, and unable to mention anyone. Keeps LF.
 */
export function discordText(text: string): string {
  return plainLines(text).map(discordLine).join('\n');
}

function discordLine(line: string): string {
  const escaped = line
    .split(LINK)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(DISCORD_INLINE, '\\$&')))
    .join('')
    .replace(/@(everyone|here)/gi, '@\u200b$1');
  return escaped.replace(DISCORD_LINE_START, (_, space: string, mark: string) =>
    mark.endsWith('.') ? `${space}${mark.slice(0, -1)}\\.` : `${space}\\${mark}`,
  );
}

/** True when `text` (one piece of discordText output) could not ping anybody or render as Markdown. */
export function isInertDiscordText(text: string): boolean {
  for (const line of text.split('\n')) {
    if (/^\s*([#>\-+]|\d+\.)/.test(line)) return false;
    const outsideLinks = line.split(LINK).filter((_, i) => i % 2 === 0);
    for (const part of outsideLinks) {
      for (let i = 0; i < part.length; i++) {
        if (part[i] === '\\') i++;
        else if (/[*_~`|[\]<]/.test(part[i]!)) return false;
      }
    }
    if (/@(everyone|here)/i.test(line) || /[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(line)) return false;
  }
  return true;
}
