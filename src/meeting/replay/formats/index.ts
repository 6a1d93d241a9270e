/**
 * The log formats `virtbot replay` reads, and how it picks one: every format reads a sample of
 * the log (its first 500 non-blank lines) and the one that understands the most lines wins (in
 * this order on a tie, most specific first). `--format NAME` forces one.
 */
import { hexchat } from './hexchat.js';
import { irccloud } from './irccloud.js';
import { irssi } from './irssi.js';
import { limnoria } from './limnoria.js';
import { quassel } from './quassel.js';
import type { LogFormat } from './types.js';
import { virtbot } from './virtbot.js';
import { weechat } from './weechat.js';
import { znc } from './znc.js';

export type { LogFormat, Parsed, Stamp, Ymd } from './types.js';

export const LOG_FORMATS: readonly LogFormat[] = [
  weechat,
  limnoria,
  irccloud,
  hexchat,
  irssi,
  znc,
  quassel,
  virtbot,
];

export function logFormat(name: string): LogFormat | undefined {
  return LOG_FORMATS.find((f) => f.name === name.toLowerCase());
}

/** The format that reads most of `sample` (virtbot's own when nothing reads anything). */
export function detectFormat(sample: readonly string[]): { format: LogFormat; read: number; of: number } {
  const lines = sample.filter((l) => l.trim() !== '').slice(0, 500);
  let best = { format: virtbot as LogFormat, read: -1, of: lines.length };
  for (const format of LOG_FORMATS) {
    let read = 0;
    let said = 0;
    for (const l of lines) {
      const p = format.parse(l);
      if (p) {
        read++;
        if (p.kind === 'msg') said++;
      }
    }
    // A format that reads no message at all is no match, whatever else it reads.
    const score = said > 0 ? read : 0;
    if (score > best.read) best = { format, read: score, of: lines.length };
  }
  return { ...best, read: Math.max(0, best.read) };
}
