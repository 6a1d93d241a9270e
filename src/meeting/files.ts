/**
 * Where the minutes go and how they are written.
 *
 * Layout (MeetBot's `%(channel)s/%%Y/%(channel)s.%%F-%%H.%%M`):
 *   minutesDir/[NETWORK/]CHANNEL/YYYY/NAME.YYYY-MM-DD-HH.MM[-N].{html,txt,md,json,log.html,log.txt}
 * CHANNEL is the channel without its `#` and lower-cased (a Discord channel's name, not its id);
 * NETWORK is there when more than one network is configured; NAME is the #meetingname when set,
 * else CHANNEL. A basename another meeting already used gets `-2`, `-3`, …: nothing is overwritten. Both go through `safeFileComponent` (a-z 0-9 . _ + - only, no leading dot,
 * ≤ 64 characters), so no name can climb out of minutesDir. Times are the meeting's start, UTC.
 *
 * Files are written to a temporary name and renamed, so a reader never sees half a file;
 * after #restrictlogs they are created 0600 (group and others get nothing), else 0644.
 */
import {
  closeSync,
  existsSync,
  fchmodSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { jsonMinutes } from './json.js';
import {
  buildModel,
  HTML_LOG_FOOT,
  htmlLogHead,
  htmlLogLine,
  renderHtmlLog,
  renderHtmlMinutes,
  renderMarkdownMinutes,
  renderTextLog,
  renderTextMinutes,
  textLogLine,
} from './minutes.js';
import type { LogLine, Meeting } from './state.js';
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
  /** The channel's folder (its index.html goes there). */
  channelDir: string;
}

export const MINUTES_EXTENSIONS = ['.html', '.txt', '.md', '.json', '.log.html', '.log.txt'] as const;

export interface LocateInput {
  minutesDir: string;
  minutesUrl?: string | undefined;
  /** The channel's name ('#kimchi', or a Discord channel's name). */
  channel: string;
  /** The network's name, when it goes in the path (more than one network configured). */
  network?: string | undefined;
  name: string | null;
  start: number;
  /** True when a basename is already used (a file of another meeting): the next suffix is tried. */
  taken?: (dir: string, basename: string) => boolean;
}

/** True when any of a meeting's files exists under `dir` with that basename. */
export function basenameTaken(dir: string, basename: string): boolean {
  return MINUTES_EXTENSIONS.some((ext) => existsSync(join(dir, basename + ext)));
}

export function locateMinutes(input: LocateInput): MinutesLocation {
  const chan = safeFileComponent(input.channel, 'channel');
  const d = new Date(input.start);
  const p = (n: number) => String(n).padStart(2, '0');
  const year = String(d.getUTCFullYear());
  const stamp = `${year}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}.${p(d.getUTCMinutes())}`;
  const folder = input.network ? `${safeFileComponent(input.network, 'network')}/${chan}` : chan;
  const dir = join(input.minutesDir, ...folder.split('/'), year);
  const first = `${input.name ? safeFileComponent(input.name, chan) : chan}.${stamp}`;
  let basename = first;
  for (let n = 2; input.taken?.(dir, basename); n++) basename = `${first}-${n}`;
  const relative = `${folder}/${year}/${basename}`;
  const pub = input.minutesUrl ? `${input.minutesUrl.replace(/\/+$/, '')}/${relative}` : join(dir, basename);
  return { dir, basename, relative, public: pub, channelDir: join(input.minutesDir, ...folder.split('/')) };
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

/** Bytes gathered per log file before a write. */
const SINK_BUFFER = 1 << 18;

/**
 * A file written through a fixed buffer: each line is encoded straight into it, so the pending
 * part of the log is bytes outside the JS heap, not strings that live through collections.
 */
class BufferedFile {
  private readonly buf = Buffer.allocUnsafe(SINK_BUFFER);
  private pos = 0;

  constructor(readonly fd: number) {}

  write(s: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (this.pos + s.length * 3 > SINK_BUFFER) {
      this.flush();
      if (s.length * 3 > SINK_BUFFER) {
        writeSync(this.fd, s);
        return;
      }
    }
    this.pos += this.buf.write(s, this.pos);
  }

  flush(): void {
    for (let off = 0; off < this.pos; ) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }
}

/**
 * The logs of a meeting streamed to disk as its lines come (replay of a big log): the text log
 * and the HTML log body go to a temporary directory under minutesDir; `finish` puts the HTML
 * head (which needs the final title and end) and foot around the body and moves both in place.
 */
export class LogSink {
  private readonly dir: string;
  private readonly txtPath: string;
  private readonly bodyPath: string;
  private readonly txt: BufferedFile;
  private readonly html: BufferedFile;

  constructor(minutesDir: string) {
    mkdirSync(minutesDir, { recursive: true });
    this.dir = mkdtempSync(join(minutesDir, '.virtbot-log-'));
    this.txtPath = join(this.dir, 'log.txt');
    this.bodyPath = join(this.dir, 'log.html.body');
    this.txt = new BufferedFile(openSync(this.txtPath, 'w', 0o600));
    this.html = new BufferedFile(openSync(this.bodyPath, 'w', 0o600));
  }

  add(line: LogLine): void {
    this.txt.write(textLogLine(line));
    this.html.write(htmlLogLine(line));
  }

  /** Writes `txtDest` and `htmlDest` (head + body + foot) with `mode`. */
  finish(txtDest: string, htmlDest: string, head: string, mode: number): void {
    this.txt.flush();
    this.html.flush();
    closeSync(this.txt.fd);
    closeSync(this.html.fd);
    const body = openSync(this.bodyPath, 'r');
    const tmp = `${htmlDest}.tmp-${process.pid}`;
    const out = openSync(tmp, 'w', mode);
    try {
      fchmodSync(out, mode);
      writeSync(out, head);
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n = readSync(body, buf); n > 0; n = readSync(body, buf)) writeSync(out, buf, 0, n);
      writeSync(out, HTML_LOG_FOOT);
    } finally {
      closeSync(out);
      closeSync(body);
    }
    const txtFd = openSync(this.txtPath, 'r+');
    fchmodSync(txtFd, mode);
    closeSync(txtFd);
    renameSync(this.txtPath, txtDest);
    renameSync(tmp, htmlDest);
    this.discard();
  }

  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What a meeting's minutes know beyond the Meeting itself (where it was, the files). */
export interface MinutesContext {
  transport: string;
  network: string;
  /** ISO time the files were written. */
  written: string;
}

/**
 * Writes the six files for a meeting (the logs from `sink` when they were streamed); returns
 * their paths, the raw log first.
 */
export function writeMinutes(
  m: Meeting,
  loc: MinutesLocation,
  sink?: LogSink,
  ctx: MinutesContext = {
    transport: '',
    network: '',
    written: new Date(m.endTime ?? m.lastTime).toISOString(),
  },
): string[] {
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
    '.json': () => [`${JSON.stringify(jsonMinutes(model, loc, ctx), null, 2)}\n`],
    '.log.html': () => renderHtmlLog(model),
  };
  const files: string[] = [];
  for (const ext of ['.log.txt', '.html', '.txt', '.md', '.json', '.log.html'] as const) {
    const path = join(loc.dir, loc.basename + ext);
    if (sink && ext === '.log.txt') continue;
    if (sink && ext === '.log.html') {
      sink.finish(join(loc.dir, loc.basename + '.log.txt'), path, htmlLogHead(model), mode);
      files.unshift(join(loc.dir, loc.basename + '.log.txt'));
    } else {
      writeChunks(path, renderers[ext](), mode);
    }
    files.push(path);
  }
  return files;
}
