/**
 * The `.json` minutes: what the meeting decided, in a documented, versioned shape
 * (docs/MINUTES.md; `schema: "virtbot-minutes/1"`) for tools, the index pages and the next
 * meeting, which carries the open action items forward from it.
 */
import type { MinutesLocation } from './files.js';
import type { MinutesModel } from './minutes.js';
import type { Item } from './state.js';

export const MINUTES_SCHEMA = 'virtbot-minutes/1';

export interface JsonItem {
  type: Item['type'];
  text: string;
  by: string;
  time: string;
  line: number;
  topic: string | null;
  outcome?: string;
}

export interface JsonMinutes {
  schema: typeof MINUTES_SCHEMA;
  title: string;
  transport: string;
  network: string;
  channel: string;
  name: string | null;
  meetingTopic: string | null;
  start: string;
  end: string | null;
  endedBy: MinutesModel['endedBy'];
  written: string;
  owner: string;
  chairs: string[];
  people: { name: string; nicks: string[]; lines: number }[];
  named: string[];
  topics: { title: string; by: string; time: string; line: number }[];
  items: JsonItem[];
  actions: {
    id: number;
    text: string;
    by: string;
    time: string;
    line: number;
    assignees: string[];
    status: 'open';
  }[];
  carriedOver: {
    id: number;
    text: string;
    by: string;
    from: string;
    date: string;
    source: string | null;
    status: 'open' | 'done';
    closedBy: string | null;
  }[];
  lines: number;
  /** The meeting's files, relative to this one's folder. */
  files: { html: string; txt: string; md: string; json: string; logHtml: string; logTxt: string };
  /** This meeting's files relative to minutesDir, without extension. */
  relative: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function jsonMinutes(
  model: MinutesModel,
  loc: MinutesLocation,
  ctx: { transport: string; network: string; written: string },
): JsonMinutes {
  const topicOf = new Map<Item, string | null>();
  const topics: JsonMinutes['topics'] = [];
  for (const s of model.sections) {
    if (s.topic)
      topics.push({ title: s.topic.text, by: s.topic.nick, time: iso(s.topic.time), line: s.topic.line });
    for (const it of s.items) topicOf.set(it, s.topic?.text ?? null);
  }
  const items: JsonItem[] = [];
  for (const s of model.sections) {
    for (const it of s.items) {
      const j: JsonItem = {
        type: it.type,
        text: it.text,
        by: it.nick,
        time: iso(it.time),
        line: it.line,
        topic: topicOf.get(it) ?? null,
      };
      if (it.outcome !== undefined) j.outcome = it.outcome;
      items.push(j);
    }
  }
  const assignees = new Map<Item, string[]>();
  for (const p of model.actionsByPerson) {
    for (const a of p.actions) assignees.set(a, [...(assignees.get(a) ?? []), p.nick]);
  }
  const b = loc.basename;
  return {
    schema: MINUTES_SCHEMA,
    title: model.title,
    transport: ctx.transport,
    network: ctx.network,
    channel: model.channel,
    name: model.name,
    meetingTopic: model.meetingTopic,
    start: iso(model.start),
    end: model.end === null ? null : iso(model.end),
    endedBy: model.endedBy,
    written: ctx.written,
    owner: model.owner,
    chairs: model.chairs,
    people: model.people.map((p) => ({ name: p.nick, nicks: p.nicks, lines: p.count })),
    named: model.named,
    topics,
    items,
    actions: model.actions.map((a, i) => ({
      id: i + 1,
      text: a.text,
      by: a.nick,
      time: iso(a.time),
      line: a.line,
      assignees: assignees.get(a) ?? [],
      status: 'open' as const,
    })),
    carriedOver: model.carried.map((c) => ({
      id: c.id,
      text: c.text,
      by: c.nick,
      from: c.from,
      date: c.date,
      source: c.source ?? null,
      status: c.done ? ('done' as const) : ('open' as const),
      closedBy: c.done?.nick ?? null,
    })),
    lines: model.lineCount,
    files: {
      html: `${b}.html`,
      txt: `${b}.txt`,
      md: `${b}.md`,
      json: `${b}.json`,
      logHtml: `${b}.log.html`,
      logTxt: `${b}.log.txt`,
    },
    relative: loc.relative,
  };
}

/** True when a parsed value looks like virtbot minutes (the index and carry-over skip anything else). */
export function isJsonMinutes(v: unknown): v is JsonMinutes {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { schema?: unknown }).schema === MINUTES_SCHEMA &&
    typeof (v as { start?: unknown }).start === 'string' &&
    Array.isArray((v as { actions?: unknown }).actions)
  );
}
