/**
 * Splits a command line into tokens the way a careful shell would, minus everything a shell
 * does beyond quoting: "double quotes" (backslash escapes inside), 'single quotes' (literal),
 * backslash escapes outside quotes, and key=value / --flag / --key=value forms.
 * Chat clients' smart quotes and dashes are read as their ASCII forms.
 */

export interface Token {
  /** The token's value after quotes and escapes are removed. */
  value: string;
  /** Set for `key=value` and `--key=value`: the key, lower-cased. */
  key?: string;
  /** Set for `--flag` (no value) — the flag name, lower-cased. */
  flag?: string;
  /** True when any part of the token was quoted or escaped: it is never a key, flag or path word. */
  quoted: boolean;
  /** Column (0-based) where the token starts in the normalised line. */
  start: number;
  /** The token as typed. */
  raw: string;
}

export class TokenizeError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
    this.name = 'TokenizeError';
  }
}

const SMART_CHARACTERS: Record<string, string> = {
  '\u201c': '"', // “
  '\u201d': '"', // ”
  '\u201e': '"', // „
  '\u2018': "'", // ‘
  '\u2019': "'", // ’
  '\u00a0': ' ', // no-break space
};

/**
 * Smart quotes become ASCII quotes. A dash that a client substituted for `--` (em dash, en dash)
 * becomes `--` at the start of a word and `-` elsewhere.
 */
export function normalizeSmartCharacters(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\u2014' || ch === '\u2013') {
      const atWordStart = i === 0 || /\s/.test(line[i - 1]!);
      out += atWordStart ? '--' : '-';
      continue;
    }
    out += SMART_CHARACTERS[ch] ?? ch;
  }
  return out;
}

const KEY_PATTERN = /^[a-z][a-z0-9_-]*$/i;

export function tokenize(input: string): Token[] {
  const line = normalizeSmartCharacters(input);
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let value = '';
    let quoted = false;
    /** Length of `value` that was typed unquoted before the first unquoted '=' (for key=value). */
    let keyEnd = -1;
    let unquotedPrefix = true;
    while (i < line.length && !/\s/.test(line[i]!)) {
      const ch = line[i]!;
      if (ch === '"') {
        const closing = readDoubleQuoted(line, i + 1);
        value += closing.text;
        i = closing.end + 1;
        quoted = true;
        unquotedPrefix = false;
      } else if (ch === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new TokenizeError(`unterminated ' quote starting at column ${i + 1}`, i);
        value += line.slice(i + 1, end);
        i = end + 1;
        quoted = true;
        unquotedPrefix = false;
      } else if (ch === '\\') {
        if (i + 1 >= line.length)
          throw new TokenizeError('a backslash at the end of the line escapes nothing', i);
        value += line[i + 1];
        i += 2;
        quoted = true;
        unquotedPrefix = false;
      } else {
        if (ch === '=' && keyEnd < 0 && unquotedPrefix) keyEnd = value.length;
        value += ch;
        i++;
      }
    }
    tokens.push(classify(value, quoted, keyEnd, start, line.slice(start, i)));
  }
  return tokens;
}

function readDoubleQuoted(line: string, from: number): { text: string; end: number } {
  let text = '';
  for (let i = from; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"') return { text, end: i };
    if (ch === '\\' && i + 1 < line.length) {
      // Inside double quotes a backslash escapes the next character, whatever it is.
      text += line[i + 1];
      i++;
      continue;
    }
    text += ch;
  }
  throw new TokenizeError(`unterminated " quote starting at column ${from}`, from - 1);
}

function classify(value: string, quoted: boolean, keyEnd: number, start: number, raw: string): Token {
  const token: Token = { value, quoted, start, raw };
  if (keyEnd > 0) {
    const head = value.slice(0, keyEnd);
    const name = head.startsWith('--') ? head.slice(2) : head;
    if (KEY_PATTERN.test(name)) {
      token.key = name.toLowerCase();
      token.value = value.slice(keyEnd + 1);
      return token;
    }
  }
  if (!quoted && /^--[a-z][a-z0-9_-]*$/i.test(value)) token.flag = value.slice(2).toLowerCase();
  return token;
}
