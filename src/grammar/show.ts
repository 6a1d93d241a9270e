/**
 * How a piece of user input is shown back in an error: quoted, shortened, and with control,
 * formatting and bidi characters masked, so that a reply can never carry IRC colour codes,
 * CTCP markers, a right-to-left override or a 10 000-character word back into the channel.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;

export function showToken(text: string, max = 60): string {
  const chars = [...text];
  const shown = chars.length > max ? `${chars.slice(0, max - 3).join('')}...` : text;
  return `'${shown.replace(UNSAFE, '?')}'`;
}
