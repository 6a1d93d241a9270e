/**
 * Where the minutes go and how they are written.
 *
 * Layout (MeetBot's `%(channel)s/%%Y/%(channel)s.%%F-%%H.%%M`):
 *   minutesDir/CHANNEL/YYYY/NAME.YYYY-MM-DD-HH.MM.{html,txt,md,log.html,log.txt}
 * CHANNEL is the channel without its `#` and lower-cased; NAME is the #meetingname when set,
 * else CHANNEL. Both go through `safeFileComponent` (a-z 0-9 . _ + - only, no leading dot,
 * ≤ 64 characters), so no name can climb out of minutesDir. Times are the meeting's start, UTC.
 *
 * Files are written to a temporary name and renamed, so a reader never sees half a file;
 * after #restrictlogs they are created 0600 (group and others get nothing), else 0644.
 */
import { closeSync, fchmodSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildModel,
  renderHtmlLog,
  renderHtmlMinutes,
  renderMarkdownMinutes,
  renderTextLog,
  renderTextMinutes,
} from './minutes.js';
import type { Meeting } from './state.js';
import { safeFileComponent } from './text.js';

export interface MinutesLocation {
  /** Directory the files go to. */
  dir: string;
  /** File name without extension: `scrum.2014-04-16-13.01`. */
  basename: string;
  /** `CHANNEL/YYYY/basename`, relative to minutesDir (and to minutesUrl). */
  relative: string;
  /** What the channel is told: `minutesUrl/relative` when a URL base is configured, else the file path. */
  public: string;
}

export const MINUTES_EXTENSIONS = ['.html', '.txt', '.md', '.log.html', '.log.txt'] as const;

export function locateMinutes(
  minutesDir: string,
  minutesUrl: string | undefined,
  channel: string,
  name: string | null,
  start: number,
): MinutesLocation {
  const chan = safeFileComponent(channel, 'channel');
  const d = new Date(start);
  const p = (n: number) => String(n).padStart(2, '0');
  const year = String(d.getUTCFullYear());
  const stamp = `${year}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}.${p(d.getUTCMinutes())}`;
  const basename = `${name ? safeFileComponent(name, chan) : chan}.${stamp}`;
  const relative = `${chan}/${year}/${basename}`;
  const dir = join(minutesDir, chan, year);
  const pub = minutesUrl ? `${minutesUrl.replace(/\/+$/, '')}/${relative}` : join(dir, basename);
  return { dir, basename, relative, public: pub };
}

function writeChunks(path: string, chunks: Iterable<string>, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    fchmodSync(fd, mode);
    // Small pieces are gathered, big ones (the logs yield ~64 KiB) go straight out.
    let pending: string[] = [];
    let size = 0;
    for (const c of chunks) {
      pending.push(c);
      size += c.length;
      if (size >= 65_536) {
        writeSync(fd, pending.length === 1 ? c : pending.join(''));
        pending = [];
        size = 0;
      }
    }
    if (size > 0) writeSync(fd, pending.join(''));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Writes the five files for a meeting; returns their paths. */
export function writeMinutes(m: Meeting, loc: MinutesLocation): string[] {
  mkdirSync(loc.dir, { recursive: true });
  const logUrl = `${loc.public}.log.html`;
  const model = buildModel(m, loc.basename, logUrl);
  const mode = m.restrictLogs ? 0o600 : 0o644;
  const renderers: Record<(typeof MINUTES_EXTENSIONS)[number], () => Iterable<string>> = {
    // The raw log first: if anything else breaks, the meeting can still be replayed from it.
    '.log.txt': () => renderTextLog(model),
    '.html': () => renderHtmlMinutes(model),
    '.txt': () => renderTextMinutes(model),
    '.md': () => renderMarkdownMinutes(model),
    '.log.html': () => renderHtmlLog(model),
  };
  const files: string[] = [];
  for (const ext of ['.log.txt', '.html', '.txt', '.md', '.log.html'] as const) {
    const path = join(loc.dir, loc.basename + ext);
    writeChunks(path, renderers[ext](), mode);
    files.push(path);
  }
  return files;
}
