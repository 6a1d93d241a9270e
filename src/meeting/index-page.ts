/**
 * `index.html` pages: one in each channel's folder and one for the whole minutesDir, listing every
 * meeting whose `.json` minutes are there (date, name, chairs, counts, links), newest first, with a
 * search box that filters the rows in the browser. Rebuilt from the `.json` files at each
 * #endmeeting, so they never drift from what is on disk.
 *
 * The page's only script is inline and allowed by its hash in the Content-Security-Policy;
 * nothing is fetched, and every text from the meetings is escaped.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isJsonMinutes, type JsonMinutes } from './json.js';
import { escapeHtml } from './text.js';

export interface IndexedMeeting {
  /** Path of the .json file. */
  file: string;
  minutes: JsonMinutes;
}

/** Every `.json` minutes file under dir (dot folders skipped), newest meeting first. */
export function findMinutes(dir: string): IndexedMeeting[] {
  const out: IndexedMeeting[] = [];
  const walk = (d: string, depth: number): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory() && depth < 6) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.json')) {
        try {
          const v: unknown = JSON.parse(readFileSync(p, 'utf8'));
          if (isJsonMinutes(v)) out.push({ file: p, minutes: v });
        } catch {
          // not minutes
        }
      }
    }
  };
  walk(dir, 0);
  return out.sort((a, b) => b.minutes.start.localeCompare(a.minutes.start) || a.file.localeCompare(b.file));
}

const SCRIPT = `(function(){var q=document.getElementById('q'),rows=document.querySelectorAll('tbody tr'),n=document.getElementById('n');function f(){var w=q.value.toLowerCase().split(/\\s+/).filter(Boolean),c=0;for(var i=0;i<rows.length;i++){var t=rows[i].getAttribute('data-search')||'';var ok=w.every(function(x){return t.indexOf(x)>=0});rows[i].hidden=!ok;if(ok)c++}n.textContent=c+' of '+rows.length+' meetings'}q.addEventListener('input',f);f()})();`;
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

const CSS = `body{font-family:DejaVu Sans,Verdana,Arial,sans-serif;font-size:15px;color:#1d1d1f;margin:1.5em auto;max-width:72em;padding:0 1em}
h1{font-size:1.5em}input{font-size:1em;padding:.3em .5em;width:24em;max-width:100%}
table{border-collapse:collapse;width:100%;margin-top:1em}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}.n{text-align:right}.files a{margin-right:.5em}#n{color:#555;margin-left:1em}a{color:#0645ad}`;

function posix(p: string): string {
  return p.split(sep).join('/');
}

function href(fromDir: string, file: string): string {
  return posix(relative(fromDir, file)).split('/').map(encodeURIComponent).join('/');
}

/** The HTML of an index page for `meetings`, links relative to `dir`. */
export function renderIndex(title: string, dir: string, meetings: IndexedMeeting[]): string {
  const rows = meetings.map(({ file, minutes: m }) => {
    const folder = file.slice(0, file.length - m.files.json.length);
    const link = (name: string) => href(dir, folder + name);
    const date = m.start.slice(0, 10);
    const time = m.start.slice(11, 16);
    const search = [
      m.title,
      m.channel,
      m.network,
      m.name ?? '',
      m.meetingTopic ?? '',
      date,
      ...m.chairs,
      ...m.people.map((p) => p.name),
      ...m.topics.map((t) => t.title),
      ...m.items.map((i) => i.text),
      ...m.actions.map((a) => a.text),
    ]
      .join(' ')
      .toLowerCase();
    const open = m.actions.length + m.carriedOver.filter((c) => c.status === 'open').length;
    return (
      `<tr data-search="${escapeHtml(search)}"><td>${escapeHtml(date)} ${escapeHtml(time)}</td>` +
      `<td><a href="${escapeHtml(link(m.files.html))}">${escapeHtml(m.title)}</a></td>` +
      `<td>${escapeHtml(m.chairs.join(', '))}</td>` +
      `<td class="n">${m.people.length}</td><td class="n">${m.items.length}</td><td class="n">${m.actions.length}</td><td class="n">${open}</td>` +
      `<td class="files"><a href="${escapeHtml(link(m.files.txt))}">text</a><a href="${escapeHtml(link(m.files.md))}">md</a><a href="${escapeHtml(link(m.files.logHtml))}">log</a><a href="${escapeHtml(link(m.files.json))}">json</a></td></tr>`
    );
  });
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'sha256-${SCRIPT_HASH}'"/>\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n<meta name="generator" content="virtbot"/>\n' +
    `<title>${escapeHtml(title)}</title>\n<style>\n${CSS}\n</style>\n</head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n` +
    '<p><label>Search: <input id="q" type="search" placeholder="name, person, topic, text…" autocomplete="off"/></label><span id="n"></span></p>\n' +
    '<table>\n<thead><tr><th>date (UTC)</th><th>meeting</th><th>chairs</th><th class="n">people</th><th class="n">items</th><th class="n">actions</th><th class="n">open actions</th><th>files</th></tr></thead>\n<tbody>\n' +
    rows.join('\n') +
    '\n</tbody>\n</table>\n' +
    `<script>${SCRIPT}</script>\n</body>\n</html>\n`
  );
}

function write(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Rebuilds minutesDir/index.html and channelDir/index.html; returns their paths. */
export function writeIndexes(minutesDir: string, channelDir: string, channelTitle: string): string[] {
  const all = findMinutes(minutesDir);
  const prefix = channelDir.endsWith(sep) ? channelDir : channelDir + sep;
  const mine = all.filter((m) => m.file.startsWith(prefix));
  const channelIndex = join(channelDir, 'index.html');
  const rootIndex = join(minutesDir, 'index.html');
  write(channelIndex, renderIndex(`Meetings in ${channelTitle}`, channelDir, mine));
  write(rootIndex, renderIndex('Meetings', minutesDir, all));
  return [channelIndex, rootIndex];
}

/** The newest earlier meeting in a channel folder, if any (for carrying action items over). */
export function previousMeeting(channelDir: string): IndexedMeeting | undefined {
  return findMinutes(channelDir)[0];
}
