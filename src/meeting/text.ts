/**
 * Small pure helpers shared by the meeting state machine, the writers and replay:
 * IRC formatting, HTML escaping, link detection, UTC time formats, file-name sanitising
 * and whole-word nick matching.
 */

/**
 * Removes IRC formatting (bold ^B, colour ^C with its `fg[,bg]` digits, hex colour ^D,
 * reset ^O, monospace ^Q, reverse ^V, italic ^], strike ^^, underline ^_) and every other
 * C0/C1 control character except tab (CTCP ^A, NUL, DEL, …). Tabs become spaces.
 */
const CONTROL_RE = /[\x00-\x1f\x7f-\x9f]/;

export function stripIrcFormatting(text: string): string {
  // Fast path: nothing below U+0020, no DEL, no C1.
  if (!CONTROL_RE.test(text)) return text;
  return text
    .replace(/\x03(?:\d{1,2}(?:,\d{1,2})?)?/g, '')
    .replace(/\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?/g, '')
    .replace(/\t/g, ' ')
    .replace(/[\x00-\x1f\x7f-\x9f]/g, '');
}

/** True for the characters JavaScript's `\s` matches (all of them are in the BMP). */
export function isSpaceCode(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

const HTML_SPECIAL_RE = /[&<>"']/;

/** Escapes text for HTML element content and (double- or single-quoted) attribute values. */
export function escapeHtml(text: string): string {
  if (!HTML_SPECIAL_RE.test(text)) return text;
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    let rep: string;
    switch (text.charCodeAt(i)) {
      case 38:
        rep = '&amp;';
        break;
      case 60:
        rep = '&lt;';
        break;
      case 62:
        rep = '&gt;';
        break;
      case 34:
        rep = '&quot;';
        break;
      case 39:
        rep = '&#39;';
        break;
      default:
        continue;
    }
    out += text.slice(last, i) + rep;
    last = i + 1;
  }
  return out + text.slice(last);
}

/**
 * Markdown for text inside a list item: backslash-escapes the characters that change inline
 * rendering, and turns `<`, `>`, `&` into entities (no raw HTML gets through).
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]|<>&~]/g, (c) => {
    if (c === '<') return '&lt;';
    if (c === '>') return '&gt;';
    if (c === '&') return '&amp;';
    return '\\' + c;
  });
}

/**
 * The schemes that become clickable links (MeetBot's UrlProtocols: http, https, irc, ftp, mailto,
 * ssh; and ircs). Nothing else (javascript:, data:, file:, …) ever does.
 */
const URL_RE = /\b(?:(?:https?|ftp|ircs?|ssh):\/\/[^\s<>"'`\x00-\x1f]+|mailto:[^\s<>"'`\x00-\x1f]+)/gi;
const TRAILING_PUNCT = new Set('.,;:!?\'")]}>');

/**
 * The run of trailing punctuation at the end of `url`, found by walking back from its end: linear
 * in the URL's length (a regex anchored at `$` retries from every position, quadratic on a URL
 * of 40 000 dots).
 */
function trailingPunctuation(url: string): string {
  let start = url.length;
  while (start > 0 && TRAILING_PUNCT.has(url[start - 1]!)) start--;
  return url.slice(start);
}

export interface TextSegment {
  text: string;
  url?: string;
}

/** Splits text into plain and URL segments (trailing punctuation is not part of a URL). */
export function splitLinks(text: string): TextSegment[] {
  const out: TextSegment[] = [];
  let last = 0;
  URL_RE.lastIndex = 0;
  for (let m = URL_RE.exec(text); m !== null; m = URL_RE.exec(text)) {
    let url = m[0];
    const trail = trailingPunctuation(url);
    if (trail !== '') {
      // Keep a closing parenthesis that balances one inside the URL (wiki links).
      let cut = trail.length;
      if (trail.startsWith(')') && url.includes('(')) cut = trail.length - 1;
      url = url.slice(0, url.length - cut);
    }
    if (url.length <= url.indexOf(':') + 1) continue;
    if (/^(?:https?|ftp|ircs?|ssh):\/\/$/i.test(url)) continue;
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ text: url, url });
    last = m.index + url.length;
    URL_RE.lastIndex = last;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/** False when `text` cannot hold a URL that URL_RE matches (no `://`, no `mailto:`). */
function mayHaveUrl(text: string): boolean {
  return text.includes(':') && (text.includes('://') || MAILTO_RE.test(text));
}
const MAILTO_RE = /mailto:/i;

/** HTML for chat text: escaped, with http/https/ftp/mailto URLs as links. */
export function htmlWithLinks(text: string): string {
  if (!mayHaveUrl(text)) return escapeHtml(text);
  let html = '';
  for (const seg of splitLinks(text)) {
    html += seg.url
      ? `<a href="${escapeHtml(seg.url)}" rel="nofollow noopener">${escapeHtml(seg.text)}</a>`
      : escapeHtml(seg.text);
  }
  return html;
}

/** Markdown for chat text: escaped, with URLs as autolinks. */
export function markdownWithLinks(text: string): string {
  if (!mayHaveUrl(text)) return escapeMarkdown(text);
  let md = '';
  for (const seg of splitLinks(text)) {
    md += seg.url ? `<${seg.url.replace(/>/g, '%3E')}>` : escapeMarkdown(seg.text);
  }
  return md;
}

/** True when a line starts with a URL MeetBot treats as a link (`http://…`, `irc://…`, `mailto:…`). */
export function startsWithUrl(text: string): boolean {
  const c = text.charCodeAt(0) | 0x20; // lower case
  if (c !== 0x68 && c !== 0x66 && c !== 0x6d && c !== 0x69 && c !== 0x73) return false; // h f m i s
  return /^(?:(?:https?|ftp|ircs?|ssh):\/\/\S|mailto:\S)/i.test(text);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

let lastHmsSecond = Number.NaN;
let lastHms = '';

/** `13:01:55` (UTC). */
export function hms(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second === lastHmsSecond) return lastHms;
  const s = ((second % 86_400) + 86_400) % 86_400;
  lastHmsSecond = second;
  lastHms = `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
  return lastHms;
}

/** `2014-04-16` (UTC). */
export function ymd(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** C asctime() in UTC, as MeetBot says it: `Wed Apr 16 13:01:55 2014` (day space-padded). */
export function asctime(ms: number): string {
  const d = new Date(ms);
  const day = d.getUTCDate();
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day < 10 ? ' ' + day : day} ${hms(ms)} ${d.getUTCFullYear()}`;
}

/** Parses MeetBot's asctime (`Wed Apr 16 13:01:55 2014`, UTC) to epoch ms, or null. */
export function parseAsctime(text: string): number | null {
  const m =
    /\b(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\b/.exec(
      text,
    );
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!);
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

/**
 * A name safe as one path component: lower case, `#`/`&` prefixes dropped, anything but
 * `a-z 0-9 . _ + -` replaced by `_`, no leading dot, at most 64 characters, never empty.
 */
export function safeFileComponent(name: string, fallback = 'meeting'): string {
  let s = name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/^[#&!+\s]+/, '')
    .replace(/[^a-z0-9._+-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+$/, '');
  if (s.length > 64) s = s.slice(0, 64).replace(/[._]+$/, '');
  return s || fallback;
}

const nickKeys = new Map<string, string>();

/** IRC nick comparison key (RFC 1459 case mapping). */
export function nickKey(nick: string): string {
  const cached = nickKeys.get(nick);
  if (cached !== undefined) return cached;
  const key = nickKeyOf(nick);
  if (nickKeys.size > 10_000) nickKeys.clear();
  nickKeys.set(nick, key);
  return key;
}

function nickKeyOf(nick: string): string {
  return nick
    .toLowerCase()
    .replace(/[[\]\\~]/g, (c) => ({ '[': '{', ']': '}', '\\': '|', '~': '^' })[c] ?? c);
}

const NICK_CHAR = 'A-Za-z0-9_\\-\\[\\]\\\\`^{}|';

/** A case-insensitive whole-word matcher for a nick (nick characters on either side break the match). */
export function nickMatcher(nick: string): RegExp {
  const escaped = nick.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  return new RegExp(`(?<![${NICK_CHAR}])${escaped}(?![${NICK_CHAR}])`, 'i');
}

/** Splits `a, b c,d` into names (MeetBot's `[, ]+`), dropping empties and duplicates (case-insensitively). */
export function splitNicks(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split(/[,\s]+/)) {
    const n = raw.trim();
    if (!n) continue;
    const k = nickKey(n);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(n);
  }
  return out;
}
