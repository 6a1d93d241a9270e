/**
 * Text helpers shared by the transports: IRC formatting removal, splitting long text at word
 * boundaries under a byte or character limit (never inside a UTF-8 sequence or a surrogate
 * pair), and quoting argument values for a command line.
 */

/** mIRC/IRCv3 formatting: bold, italics, underline, strikethrough, monospace, reverse, reset, colours. */
const IRC_FORMATTING =
  /\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/g;

export function stripIrcFormatting(text: string): string {
  return text.replace(IRC_FORMATTING, '');
}

export type Measure = (text: string) => number;
export const utf8Bytes: Measure = (text) => Buffer.byteLength(text, 'utf8');
export const utf16Length: Measure = (text) => text.length;

/** Splits one piece that has no break opportunity into parts of at most `limit`, by whole code points. */
function hardSplit(word: string, limit: number, measure: Measure): string[] {
  const parts: string[] = [];
  let current = '';
  for (const ch of word) {
    if (current !== '' && measure(current + ch) > limit) {
      parts.push(current);
      current = '';
    }
    current += ch;
  }
  if (current !== '') parts.push(current);
  return parts;
}

/**
 * Splits a single line into parts of at most `limit` (by `measure`), breaking at whitespace
 * where possible. Whitespace at a break is dropped. Empty input gives no parts.
 */
export function splitLine(line: string, limit: number, measure: Measure = utf8Bytes): string[] {
  if (limit < 4) throw new RangeError(`split limit too small: ${limit}`);
  if (measure(line) <= limit) return line.trim() === '' ? [] : [line];
  const parts: string[] = [];
  let current = '';
  for (const token of line.split(/(\s+)/)) {
    if (token === '') continue;
    const isSpace = /^\s+$/.test(token);
    if (measure(current + token) <= limit) {
      current += token;
      continue;
    }
    if (isSpace) {
      // Break here: the whitespace is the break.
      if (current.trim() !== '') parts.push(current.trimEnd());
      current = '';
      continue;
    }
    if (current.trim() !== '') parts.push(current.trimEnd());
    current = '';
    if (measure(token) <= limit) {
      current = token;
    } else {
      const pieces = hardSplit(token, limit, measure);
      current = pieces.pop() ?? '';
      parts.push(...pieces);
    }
  }
  if (current.trim() !== '') parts.push(current.trimEnd());
  return parts;
}

/** Splits multi-line text into lines, each split further to fit `limit`. Blank lines are dropped. */
export function splitLines(text: string, limit: number, measure: Measure = utf8Bytes): string[] {
  return text.split(/\r?\n/).flatMap((line) => splitLine(line, limit, measure));
}

/**
 * Packs text into chunks of at most `limit`, breaking at line ends where possible (for chat
 * services with a per-message limit, such as Discord's 2000 characters).
 */
export function chunkText(text: string, limit: number, measure: Measure = utf16Length): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const pieces = measure(rawLine) <= limit ? [rawLine] : splitLine(rawLine, limit, measure);
    for (const piece of pieces) {
      const candidate = current === '' ? piece : `${current}\n${piece}`;
      if (measure(candidate) <= limit) {
        current = candidate;
      } else {
        if (current.trim() !== '') chunks.push(current);
        current = piece;
      }
    }
  }
  if (current.trim() !== '') chunks.push(current);
  return chunks;
}

/**
 * Quotes a value for a virtbot command line when the tokenizer would otherwise read it
 * differently: whitespace, quotes, backslashes, '=' (key=value), a leading '--' (flag), or empty.
 */
export function quoteArg(value: string): string {
  if (
    value !== '' &&
    !/[\s"'\\=]/.test(value) &&
    !value.startsWith('--') &&
    !/[\u2018\u2019\u201c-\u201e\u2013\u2014]/.test(value)
  ) {
    return value;
  }
  // Smart double quotes are escaped too: the tokenizer reads them as ASCII quotes.
  return `"${value.replace(/[\\"\u201c-\u201e]/g, (ch) => `\\${ch}`)}"`;
}
