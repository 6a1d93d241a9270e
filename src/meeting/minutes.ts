/**
 * Minutes and logs, the MeetBot way: HTML, text and Markdown minutes, HTML and text logs.
 *
 * `buildModel` turns a Meeting into what the minutes say (summary by topic, action items,
 * action items by person, people present); the renderers are generators of string chunks so
 * a 100 000-line log is written without building one huge string.
 *
 * The HTML is self-contained (inline CSS, a Content-Security-Policy that forbids every
 * external resource and every script), well-formed XML as well as valid HTML5, with all chat
 * text escaped and only http/https/ftp/mailto URLs turned into links.
 */
import {
  type CarriedAction,
  type Item,
  type LogLine,
  type Meeting,
  type Person,
  USEFUL_COMMANDS,
} from './state.js';
import {
  escapeHtml,
  escapeMarkdown,
  hms,
  htmlWithLinks,
  isSpaceCode,
  markdownWithLinks,
  nickKey,
  nickMatcher,
  ymd,
} from './text.js';

export interface TopicSection {
  /** null for the items said before the first #topic. */
  topic: Item | null;
  items: Item[];
}

/** A person as the minutes name them: one entry per identity. */
export interface PersonSummary {
  key: string;
  /** The name shown: their nicks (`alice / alice_`), disambiguated when two people share one. */
  nick: string;
  nicks: string[];
  count: number;
}

export interface MinutesModel {
  title: string;
  channel: string;
  name: string | null;
  meetingTopic: string | null;
  owner: string;
  chairs: string[];
  start: number;
  /** null while the meeting is still open (#save). */
  end: number | null;
  /** How it ended: a chair's #endmeeting, a late #endmeeting, an admin, idleness, the end of a log. */
  endedBy: Meeting['endedBy'];
  /** When the minutes were written (the end, or the last line for #save). */
  asOf: number;
  /** File basename without extension, for relative links between the files. */
  basename: string;
  /** Where the full log is, as said in the text minutes (URL when configured). */
  logUrl: string;
  sections: TopicSection[];
  actions: Item[];
  actionsByPerson: { nick: string; actions: Item[] }[];
  unassigned: Item[];
  /** Action items of the previous meeting, with whether they were closed here. */
  carried: CarriedAction[];
  /** Operations run during the meeting (also in `sections`, under their topic). */
  operations: Item[];
  /** Real speakers, most lines first. */
  people: PersonSummary[];
  /** Names given with #nick who did not speak. */
  named: string[];
  lines: readonly LogLine[];
  /** How many lines the log has (the lines themselves may have been streamed to disk). */
  lineCount: number;
}

export function meetingTitle(m: Meeting): string {
  const label = m.meetingTopic ?? m.name;
  return label ? `${m.channel}: ${label}` : `${m.channel} Meeting`;
}

function keyKind(key: string): string {
  const [kind, ...rest] = key.split(':');
  if (kind === 'user') return `user ${rest.join(':')}`;
  if (kind === 'discord') return `Discord id ${rest.join(':')}`;
  if (kind === 'account') return `account ${rest.slice(1).join(':')}`;
  return 'unidentified';
}

/** One display name per person: their nicks joined, disambiguated where two people share one. */
export function personLabels(people: Iterable<Person>): Map<string, string> {
  const base = new Map<string, string>();
  for (const p of people) base.set(p.key, p.nicks.join(' / '));
  const uses = new Map<string, number>();
  for (const l of base.values()) uses.set(nickKey(l), (uses.get(nickKey(l)) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const [k, l] of base) out.set(k, (uses.get(nickKey(l)) ?? 0) > 1 ? `${l} [${keyKind(k)}]` : l);
  return out;
}

export function buildModel(m: Meeting, basename: string, logUrl: string): MinutesModel {
  const sections: TopicSection[] = [];
  let current: TopicSection = { topic: null, items: [] };
  for (const item of m.items) {
    if (item.type === 'TOPIC') {
      if (current.topic || current.items.length) sections.push(current);
      current = { topic: item, items: [] };
    } else {
      current.items.push(item);
    }
  }
  if (current.topic || current.items.length) sections.push(current);

  const labels = personLabels(m.people.values());
  const actions = m.items.filter((i) => i.type === 'ACTION');
  // Who can be assigned an action: those who spoke (by any of their nicks), the chairs (spoken
  // or not), and those named with #nick.
  const candidates: { label: string; nicks: string[] }[] = [];
  const seen = new Set<string>();
  for (const p of m.people.values()) {
    if (p.count === 0 && !m.isChair(p.key)) continue;
    candidates.push({ label: p.nicks[0]!, nicks: p.nicks });
    for (const n of p.nicks) seen.add(nickKey(n));
  }
  for (const n of [...m.pendingChairs.values(), ...m.named.values()]) {
    if (seen.has(nickKey(n))) continue;
    seen.add(nickKey(n));
    candidates.push({ label: n, nicks: [n] });
  }
  candidates.sort((a, b) => nickKey(a.label).localeCompare(nickKey(b.label)));
  const assigned = new Set<Item>();
  const actionsByPerson: { nick: string; actions: Item[] }[] = [];
  for (const c of candidates) {
    const res = c.nicks.map(nickMatcher);
    const mine = actions.filter((a) => res.some((re) => re.test(a.text)));
    if (mine.length === 0) continue;
    for (const a of mine) assigned.add(a);
    actionsByPerson.push({ nick: c.label, actions: mine });
  }
  const people = [...m.people.values()]
    .filter((p) => p.count > 0)
    .map((p) => ({ key: p.key, nick: labels.get(p.key)!, nicks: [...p.nicks], count: p.count }))
    .sort((a, b) => b.count - a.count || nickKey(a.nick).localeCompare(nickKey(b.nick)));
  const spoke = new Set(people.flatMap((p) => p.nicks.map(nickKey)));
  return {
    title: meetingTitle(m),
    channel: m.channel,
    name: m.name,
    meetingTopic: m.meetingTopic,
    owner: m.ownerNick(),
    chairs: m.chairList(),
    start: m.startTime,
    end: m.endTime,
    endedBy: m.endedBy,
    asOf: m.endTime ?? m.lastTime,
    basename,
    logUrl,
    sections,
    actions,
    actionsByPerson,
    unassigned: actions.filter((a) => !assigned.has(a)),
    carried: m.carried,
    operations: m.items.filter((i) => i.type === 'OPERATION'),
    people,
    named: [...m.named.values()].filter((n) => !spoke.has(nickKey(n))),
    lines: m.lines,
    lineCount: m.lineCount,
  };
}

// ---------------------------------------------------------------- HTML

const CSS = `
body{font-family:DejaVu Sans,Verdana,Arial,sans-serif;font-size:15px;line-height:1.45;color:#1d1d1f;background:#fff;margin:1.5em auto;max-width:60em;padding:0 1em;overflow-wrap:anywhere}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ccc}
.details{color:#555;font-size:.92em}a{color:#0645ad}a:visited{color:#0b0080}
ol{margin:.2em 0 .2em 1.4em;padding-left:1em}li{margin:.15em 0}
.topic-title{font-weight:bold}
.type{font-weight:bold;font-size:.85em;letter-spacing:.03em}
.TOPIC{color:#333}.INFO{color:#2a6a2a}.ACTION{color:#b35900}.AGREED,.ACCEPTED{color:#1a7f37}.REJECTED{color:#b00020}
.IDEA{color:#6f42c1}.HELP{color:#b00020}.LINK{color:#0645ad}.VOTE{color:#0b6e99}.OPERATION{color:#555}
.outcome{display:inline-block;padding:0 .35em;border-radius:3px;font-size:.85em;font-weight:bold;background:#eee;color:#333}
.outcome.ok,.outcome.approved{background:#dcf5e3;color:#14632c}
.outcome.denied,.outcome.failed,.outcome.invalid{background:#fde2e1;color:#8a1212}
.outcome.pending,.outcome.lapsed,.outcome.cancelled{background:#fff4d6;color:#6b4e00}
.nick{font-weight:bold}
.log{font-family:DejaVu Sans Mono,Consolas,monospace;font-size:13.5px}
.l{padding:1px 0;white-space:pre-wrap}.l:target{background:#fff3b0}
.t{color:#888;text-decoration:none}.bot{color:#777}.cmd{font-weight:bold}.act{font-style:italic}
.n0{color:#1f5fa8}.n1{color:#a8321f}.n2{color:#2a7a2a}.n3{color:#8a3fa0}.n4{color:#a86a00}.n5{color:#0b7a7a}.n6{color:#a0305f}.n7{color:#50587a}
.generated{margin-top:2em;color:#777;font-size:.85em}
`.trim();

function htmlHead(title: string): string {
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'none'"/>\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n' +
    '<meta name="generator" content="virtbot"/>\n' +
    `<title>${escapeHtml(title)}</title>\n<style>\n${CSS}\n</style>\n</head>\n<body>\n`
  );
}

const nickClasses = new Map<string, string>();

function nickClass(nick: string): string {
  let cls = nickClasses.get(nick);
  if (cls === undefined) {
    cls = nickClassOf(nick);
    if (nickClasses.size > 10_000) nickClasses.clear();
    nickClasses.set(nick, cls);
  }
  return cls;
}

function nickClassOf(nick: string): string {
  let h = 0;
  const k = nickKey(nick);
  for (let i = 0; i < k.length; i++) h = (h * 31 + k.charCodeAt(i)) | 0;
  return 'n' + (Math.abs(h) % 8);
}

function itemHtml(model: MinutesModel, item: Item, withType = true): string {
  let head = '';
  if (withType) {
    head = `<span class="type ${item.type}">${item.type}</span>`;
    if (item.type === 'OPERATION' && item.outcome) {
      head += ` <span class="outcome ${escapeHtml(item.outcome.replace(/[^a-z]/g, ''))}">${escapeHtml(item.outcome)}</span>`;
    }
    head += ': ';
  }
  return `${head}${htmlWithLinks(item.text)} ${detailsHtml(model, item)}`;
}

function detailsHtml(model: MinutesModel, item: Item): string {
  const href = `${escapeHtml(model.basename)}.log.html#l-${item.line}`;
  return `<span class="details">(<span class="nick">${escapeHtml(item.nick)}</span>, <a href="${href}">${hms(item.time)}</a>)</span>`;
}

const END_REASONS: Record<MinutesModel['endedBy'], string> = {
  chair: '',
  late: ' (ended by a participant after no chair had spoken for a while)',
  admin: ' (ended by an administrator)',
  idle: ' (ended automatically: nothing had been said for too long)',
  'log-end': ' (the log ends without #endmeeting)',
};

function endSentence(model: MinutesModel): string {
  return model.end !== null
    ? `Meeting ended at ${hms(model.end)} UTC${END_REASONS[model.endedBy]}`
    : `Meeting still in progress; minutes saved at ${hms(model.asOf)} UTC`;
}

/** `1. bob to fix the build (bob, 2024-01-08) — done (closed by alice)` */
function carriedText(c: CarriedAction): string {
  return `${c.id}. ${c.text} (${c.nick}, ${c.date}) — ${c.done ? `done (closed by ${c.done.nick})` : 'still open'}`;
}

export function* renderHtmlMinutes(model: MinutesModel): Generator<string> {
  const log = `${escapeHtml(model.basename)}.log.html`;
  yield htmlHead(model.title);
  yield `<h1>${escapeHtml(model.title)}</h1>\n`;
  yield `<p class="details">Meeting started by <span class="nick">${escapeHtml(model.owner)}</span> at ${hms(model.start)} UTC on ${ymd(model.start)} (<a href="${log}">full logs</a>). Chairs: ${escapeHtml(model.chairs.join(', '))}.</p>\n`;
  yield '<h2>Meeting summary</h2>\n<ol class="summary">\n';
  if (model.sections.length === 0) yield '<li>(none)</li>\n';
  for (const s of model.sections) {
    if (s.topic) {
      yield `<li class="topic"><span class="topic-title">${htmlWithLinks(s.topic.text)}</span> ${detailsHtml(model, s.topic)}`;
      if (s.items.length) {
        yield '\n<ol type="a">\n';
        for (const it of s.items) yield `<li>${itemHtml(model, it)}</li>\n`;
        yield '</ol>\n';
      }
      yield '</li>\n';
    } else {
      for (const it of s.items) yield `<li>${itemHtml(model, it)}</li>\n`;
    }
  }
  yield '</ol>\n';
  yield `<p class="details">${endSentence(model)} (<a href="${log}">full logs</a>).</p>\n`;
  yield '<h2>Action items</h2>\n<ol class="actions">\n';
  if (model.actions.length === 0) yield '<li>(none)</li>\n';
  for (const a of model.actions) yield `<li>${itemHtml(model, a, false)}</li>\n`;
  yield '</ol>\n<h2>Action items, by person</h2>\n<ol class="by-person">\n';
  for (const p of model.actionsByPerson) {
    yield `<li><span class="nick">${escapeHtml(p.nick)}</span>\n<ol>\n`;
    for (const a of p.actions) yield `<li>${itemHtml(model, a, false)}</li>\n`;
    yield '</ol>\n</li>\n';
  }
  yield '<li><b>UNASSIGNED</b>\n<ol>\n';
  if (model.unassigned.length === 0) yield '<li>(none)</li>\n';
  for (const a of model.unassigned) yield `<li>${itemHtml(model, a, false)}</li>\n`;
  yield '</ol>\n</li>\n</ol>\n';
  if (model.carried.length > 0) {
    yield '<h2>Action items carried over</h2>\n<ol class="carried">\n';
    for (const c of model.carried) {
      const done = c.done
        ? ` <span class="outcome ok">done</span> <span class="details">(closed by <span class="nick">${escapeHtml(c.done.nick)}</span>, <a href="${escapeHtml(model.basename)}.log.html#l-${c.done.line}">${hms(c.done.time)}</a>)</span>`
        : ' <span class="outcome pending">still open</span>';
      yield `<li value="${c.id}">${htmlWithLinks(c.text)} <span class="details">(<span class="nick">${escapeHtml(c.nick)}</span>, ${escapeHtml(c.date)})</span>${done}</li>\n`;
    }
    yield '</ol>\n';
  }
  yield '<h2>People present (lines said)</h2>\n<ol class="people">\n';
  if (model.people.length === 0) yield '<li>(none)</li>\n';
  for (const p of model.people)
    yield `<li><span class="nick">${escapeHtml(p.nick)}</span> (${p.count})</li>\n`;
  yield '</ol>\n';
  if (model.named.length > 0)
    yield `<p class="details">Named with #nick (did not speak): ${escapeHtml(model.named.join(', '))}</p>\n`;
  yield '<h2>Useful commands</h2>\n';
  yield `<p><code>${escapeHtml(USEFUL_COMMANDS)}</code> — and <code>#commands</code> for all of them.</p>\n`;
  yield '<p class="generated">Generated by virtbot, the MeetBot way.</p>\n</body>\n</html>\n';
}

export function htmlLogHead(model: MinutesModel): string {
  const title = `${model.title} — log`;
  return (
    htmlHead(title) +
    `<h1>${escapeHtml(title)}</h1>\n` +
    `<p class="details">Meeting started by <span class="nick">${escapeHtml(model.owner)}</span> at ${hms(model.start)} UTC on ${ymd(model.start)}. ${endSentence(model)}. (<a href="${escapeHtml(model.basename)}.html">minutes</a>)</p>\n` +
    '<div class="log">\n'
  );
}

export const HTML_LOG_FOOT =
  '</div>\n<p class="generated">Generated by virtbot, the MeetBot way.</p>\n</body>\n</html>\n';

/** The HTML of one log line. */
export function htmlLogLine(l: LogLine): string {
  const n = l.n;
  return `${l.bot ? '<div class="l bot" id="l-' : '<div class="l" id="l-'}${n}"><a class="t" href="#l-${n}">${hms(l.time)}</a> <span class="${nickClass(l.nick)}${
    l.action ? '">* ' : '">&lt;'
  }${escapeHtml(l.nick)}${
    l.action
      ? '</span> <span class="act">'
      : !l.bot && l.text.charCodeAt(0) === 35
        ? '&gt;</span> <span class="cmd">'
        : '&gt;</span> <span>'
  }${htmlWithLinks(l.text)}</span></div>\n`;
}

/** The text-log form of one line (`HH:MM:SS <nick> text`, `HH:MM:SS * nick text`). */
export function textLogLine(l: LogLine): string {
  return l.action ? `${hms(l.time)} * ${l.nick} ${l.text}\n` : `${hms(l.time)} <${l.nick}> ${l.text}\n`;
}

/** The lines of a log joined a few hundred at a time (one flat string per chunk). */
function* logChunks(lines: readonly LogLine[], render: (l: LogLine) => string): Generator<string> {
  let parts: string[] = [];
  for (const l of lines) {
    parts.push(render(l));
    if (parts.length >= 512) {
      yield parts.join('');
      parts = [];
    }
  }
  yield parts.join('');
}

export function* renderHtmlLog(model: MinutesModel): Generator<string> {
  yield htmlLogHead(model);
  yield* logChunks(model.lines, htmlLogLine);
  yield HTML_LOG_FOOT;
}

// ---------------------------------------------------------------- text

/** MeetBot's text wrapping: 72 columns, long words never broken; level 0 = a plain paragraph. */
function wrap(text: string, level: number): string {
  const first = ' '.repeat(Math.max(0, level - 1) * 2);
  const rest = ' '.repeat(level * 2);
  // The words are the runs between `\s` characters, scanned in place (no split, no array).
  let out = '';
  let cur = first;
  let empty = true;
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpaceCode(text.charCodeAt(i))) i++;
    if (i >= n) break;
    let j = i + 1;
    while (j < n && !isSpaceCode(text.charCodeAt(j))) j++;
    const len = j - i;
    if (!empty && cur.length + 1 + len > 72) {
      out += cur + '\n';
      cur = rest + text.slice(i, j);
    } else {
      cur += (empty ? '' : ' ') + text.slice(i, j);
    }
    empty = false;
    i = j;
  }
  return out + cur;
}

function itemText(item: Item, withType = true): string {
  let head = '';
  if (withType)
    head = item.type === 'OPERATION' && item.outcome ? `OPERATION (${item.outcome}): ` : `${item.type}: `;
  return `${head}${item.text}  (${item.nick}, ${hms(item.time)})`;
}

function underline(title: string, ch: string): string {
  return `${title}\n${ch.repeat(title.length)}\n`;
}

export function* renderTextMinutes(model: MinutesModel): Generator<string> {
  const bar = '='.repeat(Math.min(model.title.length, 72));
  yield `${bar}\n${model.title}\n${bar}\n\n\n`;
  yield `${wrap(`Meeting started by ${model.owner} at ${hms(model.start)} UTC on ${ymd(model.start)}.  The full logs are available at ${model.logUrl} .`, 0)}\n\n\n\n`;
  yield underline('Meeting summary', '-');
  yield '\n';
  for (const s of model.sections) {
    if (s.topic) {
      yield `${wrap(`* ${s.topic.text}  (${s.topic.nick}, ${hms(s.topic.time)})`, 1)}\n`;
      for (const it of s.items) yield `${wrap(`* ${itemText(it)}`, 2)}\n`;
    } else {
      for (const it of s.items) yield `${wrap(`* ${itemText(it)}`, 1)}\n`;
    }
    yield '\n';
  }
  yield `${endSentence(model)}.\n\n\n\n`;
  yield underline('Action items', '-');
  if (model.actions.length === 0) yield '* (none)\n';
  for (const a of model.actions) yield `${wrap(`* ${a.text}`, 1)}\n`;
  yield '\n\n\n\n';
  yield underline('Action items, by person', '-');
  for (const p of model.actionsByPerson) {
    yield `* ${p.nick}\n`;
    for (const a of p.actions) yield `${wrap(`* ${a.text}`, 2)}\n`;
  }
  yield '* **UNASSIGNED**\n';
  if (model.unassigned.length === 0) yield '  * (none)\n';
  for (const a of model.unassigned) yield `${wrap(`* ${a.text}`, 2)}\n`;
  yield '\n\n\n\n';
  if (model.carried.length > 0) {
    yield underline('Action items carried over', '-');
    for (const c of model.carried) yield `${wrap(`* ${carriedText(c)}`, 1)}\n`;
    yield '\n\n\n\n';
  }
  yield underline('People present (lines said)', '-');
  if (model.people.length === 0) yield '* (none)\n';
  for (const p of model.people) yield `* ${p.nick} (${p.count})\n`;
  if (model.named.length > 0)
    yield `\n${wrap(`Named with #nick (did not speak): ${model.named.join(', ')}`, 0)}\n`;
  yield '\n\n\n\n';
  yield underline('Useful commands', '-');
  yield `${USEFUL_COMMANDS} (#commands lists them all)\n\n\n`;
  yield 'Generated by virtbot, the MeetBot way.\n';
}

export function* renderTextLog(model: MinutesModel): Generator<string> {
  yield* logChunks(model.lines, textLogLine);
}

// ---------------------------------------------------------------- Markdown

function itemMd(model: MinutesModel, item: Item, withType = true): string {
  let head = '';
  if (withType) {
    head = `**${item.type}**`;
    if (item.type === 'OPERATION' && item.outcome) head += ` (${escapeMarkdown(item.outcome)})`;
    head += ': ';
  }
  return `${head}${markdownWithLinks(item.text)} ${detailsMd(model, item)}`;
}

function detailsMd(model: MinutesModel, item: Item): string {
  return `(${escapeMarkdown(item.nick)}, [${hms(item.time)}](${encodeURI(model.basename)}.log.html#l-${item.line}))`;
}

export function* renderMarkdownMinutes(model: MinutesModel): Generator<string> {
  const log = `${encodeURI(model.basename)}.log.html`;
  yield `# ${escapeMarkdown(model.title)}\n\n`;
  yield `Meeting started by **${escapeMarkdown(model.owner)}** at ${hms(model.start)} UTC on ${ymd(model.start)} ([full logs](${log})). Chairs: ${escapeMarkdown(model.chairs.join(', '))}.\n\n`;
  yield '## Meeting summary\n\n';
  if (model.sections.length === 0) yield '* (none)\n';
  for (const s of model.sections) {
    if (s.topic) {
      yield `* **${markdownWithLinks(s.topic.text)}** ${detailsMd(model, s.topic)}\n`;
      for (const it of s.items) yield `  * ${itemMd(model, it)}\n`;
    } else {
      for (const it of s.items) yield `* ${itemMd(model, it)}\n`;
    }
  }
  yield `\n${endSentence(model)} ([full logs](${log})).\n\n## Action items\n\n`;
  if (model.actions.length === 0) yield '* (none)\n';
  for (const a of model.actions) yield `* ${itemMd(model, a, false)}\n`;
  yield '\n## Action items, by person\n\n';
  for (const p of model.actionsByPerson) {
    yield `* ${escapeMarkdown(p.nick)}\n`;
    for (const a of p.actions) yield `  * ${itemMd(model, a, false)}\n`;
  }
  yield '* **UNASSIGNED**\n';
  if (model.unassigned.length === 0) yield '  * (none)\n';
  for (const a of model.unassigned) yield `  * ${itemMd(model, a, false)}\n`;
  if (model.carried.length > 0) {
    yield '\n## Action items carried over\n\n';
    for (const c of model.carried) yield `* ${escapeMarkdown(carriedText(c))}\n`;
  }
  yield '\n## People present (lines said)\n\n';
  if (model.people.length === 0) yield '* (none)\n';
  for (const p of model.people) yield `* ${escapeMarkdown(p.nick)} (${p.count})\n`;
  if (model.named.length > 0)
    yield `\nNamed with #nick (did not speak): ${escapeMarkdown(model.named.join(', '))}\n`;
  yield `\n## Useful commands\n\n${USEFUL_COMMANDS.split(' ')
    .map((c) => '`' + c + '`')
    .join(' ')} (\`#commands\` lists them all)\n\n_Generated by virtbot, the MeetBot way._\n`;
}
