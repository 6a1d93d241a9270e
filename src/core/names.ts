/**
 * The one rule for comparing account names (IRC services accounts, configured user names):
 * NFKC, then Unicode case folding. And what makes a name unsafe to compare at all: characters
 * that NFKC changes (the Kelvin sign K, fullwidth letters, ligatures), invisible or control
 * characters, or letters from more than one script (a Cyrillic 'а' among Latin letters). An
 * unsafe name never equals anything, so that 'Kevin' with a Kelvin sign is not kevin.
 */

/** NFKC, then full case folding (upper then lower, so that ß and ẞ fold to ss, ς to σ). */
export function foldName(name: string): string {
  return name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/** True when both names are safe and fold to the same text. */
export function sameAccount(a: string, b: string): boolean {
  return unsafeReason(a) === undefined && unsafeReason(b) === undefined && foldName(a) === foldName(b);
}

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
/** Scripts a letter may belong to, for the mixed-script check (Common and Inherited count for none). */
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Devanagari',
  'Thai',
  'Georgian',
  'Hangul',
  'Hiragana',
  'Katakana',
  'Han',
  'Cherokee',
] as const;
const SCRIPT_RE = SCRIPTS.map((s) => [s, new RegExp(`\\p{Script=${s}}`, 'u')] as const);
/** Japanese mixes these three on purpose. */
const JAPANESE = new Set(['Han', 'Hiragana', 'Katakana']);

/** Why a name is unsafe to compare, or undefined for a safe one. */
export function unsafeReason(name: string): string | undefined {
  if (name === '') return 'it is empty';
  const invisible = INVISIBLE.exec(name);
  if (invisible) return `it contains ${codePoint(invisible[0])}, an invisible or control character`;
  if (name.normalize('NFKC') !== name) {
    const changed = [...name].find((c) => c.normalize('NFKC') !== c) ?? name;
    return `it contains ${codePoint(changed)}, which NFKC turns into '${changed.normalize('NFKC')}'`;
  }
  const scripts = new Set<string>();
  for (const char of name) {
    if (!/\p{L}/u.test(char)) continue;
    const script = SCRIPT_RE.find(([, re]) => re.test(char))?.[0] ?? 'other';
    scripts.add(script);
  }
  const mixed = [...scripts].filter((s) => !(JAPANESE.has(s) && [...scripts].every((t) => JAPANESE.has(t))));
  if (mixed.length > 1) return `it mixes letters of ${mixed.join(' and ')}`;
  return undefined;
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
