/**
 * The transcript format: a chat log with expectations (README, "Transcript tests"). One line each:
 *
 *   [PLACE] [HH:MM:SS] <nick> text   nick says text (the time sets the clock); PLACE is [#chan],
 *                                    [private], [net/#chan] or [net/private]: said there instead
 *   [PLACE] [HH:MM:SS] * nick text   an action (/me) line
 *   >>> [PLACE] [<nick>] text        a bot line after the last matched one contains text
 *   >>  [PLACE] [<nick>] text        a bot line answering the line just said contains text
 *   !!! [PLACE] [<nick>] text        no bot line answering the line just said contains text
 *                                    (each takes /regex/flags instead of text; <nick>: nick sees
 *                                    it; PLACE: it shows there)
 *   ~~~ event HOST VM STATE [why]    a libvirt lifecycle event happens (the bot may announce it)
 *   ; comment                        blank lines are ignored too
 *
 * Headers (comment lines of a fixed shape, anywhere, usually at the top):
 *
 *   ; place: #ops | private | net/#ops          where lines are said unless they say otherwise
 *   ; transport: irc | discord | console        which transport the transcript models
 *   ; config: FILE                              the config it runs on (relative to the transcript)
 *   ; user NICK [account=A] [roles=R,…] [system=S]   a configured user, proven as the transport proves
 *   ; user NICK unidentified                    a sender whose nick proves nothing: anonymous
 *   ; role NAME permissions=GLOB,…              a role
 *   ; anonymous roles=R,…                       the roles of anonymous senders (none: `roles=`)
 *
 * `$CODE` in a said line or a literal expectation is the last confirmation code the bot gave;
 * `$CODE[nick]` the last one it gave nick, `$CODE#N` the Nth one.
 */
import type { TransportName } from './render/index.js';
import { TRANSPORTS } from './render/index.js';

/** Where lines are said, or where an expectation looks. */
export interface TranscriptPlace {
  /** The network (IRC) or server (Discord); absent: the transcript's own (by default none, ''). */
  network?: string;
  channel: string;
  private: boolean;
}

/** The lifecycle events libvirt reports for a domain (virDomainEventType). */
export const LIFECYCLE_STATES = [
  'defined',
  'undefined',
  'started',
  'suspended',
  'resumed',
  'stopped',
  'shutdown',
  'pmsuspended',
  'crashed',
] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export type TranscriptStep =
  | {
      kind: 'say';
      line: number;
      nick: string;
      text: string;
      action: boolean;
      time?: string;
      /** Said somewhere else than the transcript's place (`[private] <bob> …`, `[#ops] <bob> …`). */
      place?: TranscriptPlace;
    }
  | {
      kind: 'expect';
      line: number;
      negative: boolean;
      pattern: string | RegExp;
      /** `>>`: only lines answering the line just said count. */
      anchored?: true;
      /** `<nick>`: only lines this person sees count. */
      to?: string;
      /** `[#chan]` / `[private]`: only lines shown there count. */
      place?: TranscriptPlace;
    }
  | {
      kind: 'event';
      line: number;
      host: string;
      vm: string;
      state: LifecycleState;
      detail?: string;
    };

/** A person named by a `; user` header. */
export interface Person {
  nick: string;
  line: number;
  /** `unidentified`: nothing proves who they are. */
  unidentified?: true;
  /** The proof their transport gives: IRC services account, Discord user id (default: from the nick). */
  account?: string;
  roles?: string[];
  /** Their account on the hypervisors (per-VM access). */
  system?: string;
}

export interface TranscriptHeader {
  place: TranscriptPlace;
  transport: TransportName;
  /** `; config: FILE`, as written (relative to the transcript). */
  config?: string;
  people: Person[];
  roles: { name: string; permissions: string[]; line: number }[];
  anonymousRoles?: string[];
  /** Every network the transcript names ('' for lines that name none). */
  networks: string[];
}

export interface Transcript {
  header: TranscriptHeader;
  steps: TranscriptStep[];
}

export class TranscriptSyntaxError extends Error {}

/** The name rule of config users and roles. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const TIME = String.raw`(\d{1,2}):(\d{2}):(\d{2})`;
const PLACE = String.raw`\[(private|[#&+!][^\]\s]+|[^\]\s/#&+!][^\]\s/]*\/(?:private|[#&+!][^\]\s]+))\]`;
const SAY = /^<([^>\s]+)>\s?(.*)$/;
const ACTION = /^\*\s+(\S+)\s?(.*)$/;
const LEAD_PLACE = new RegExp(`^${PLACE}\\s+`, 'i');
const LEAD_TIME = new RegExp(`^${TIME}\\s+`);
const EXPECTATION = /^(>>>|>>|!!!)(?:\s|$)(.*)$/;
const TARGET_NICK = /^<([^>\s]+)>(?:\s+|$)/;
const EVENT = /^~~~\s+(\S+)(?:\s+(.*))?$/;
const HEADER = /^;\s*(place|transport|config):\s*(.*?)\s*$/i;
const DECLARATION = /^;\s*(user|role|anonymous)\b\s*(.*?)\s*$/i;

/** `private`, `#ops`, `libera/#ops` or `libera/private` as a place. */
export function placeNamed(where: string): TranscriptPlace {
  const slash = where.indexOf('/');
  const network = slash > 0 && !/^[#&+!]/.test(where) ? where.slice(0, slash) : undefined;
  const rest = network === undefined ? where : where.slice(slash + 1);
  const place: TranscriptPlace =
    rest.toLowerCase() === 'private' ? { channel: '', private: true } : { channel: rest, private: false };
  if (network !== undefined) place.network = network;
  return place;
}

/** The place a transcript declares in a `; place:` header, or a channel named #test. */
export function transcriptPlace(text: string): TranscriptPlace {
  for (const raw of text.split(/\r?\n/)) {
    const header = HEADER.exec(raw.trim());
    if (header && header[1]!.toLowerCase() === 'place' && header[2] !== '') return placeNamed(header[2]!);
  }
  return { channel: '#test', private: false };
}

/** An expectation line in its parts: `>>`, the targets as written (`[#ops] <bob> `), the pattern. */
export function splitExpectation(
  content: string,
):
  | { op: '>>>' | '>>' | '!!!'; head: string; pattern: string; to?: string; place?: TranscriptPlace }
  | undefined {
  const m = EXPECTATION.exec(content);
  if (!m) return undefined;
  let rest = m[2]!;
  let head = '';
  const result: { to?: string; place?: TranscriptPlace } = {};
  const place = LEAD_PLACE.exec(rest);
  if (place) {
    result.place = placeNamed(place[1]!);
    head += place[0];
    rest = rest.slice(place[0].length);
  }
  const nick = TARGET_NICK.exec(rest);
  if (nick) {
    result.to = nick[1]!;
    head += nick[0];
    rest = rest.slice(nick[0].length);
  }
  return { op: m[1] as '>>>' | '>>' | '!!!', head, pattern: rest, ...result };
}

/** `/regex/flags` as a RegExp, anything else as the literal text. */
export function readPattern(text: string, where = ''): string | RegExp {
  const regex = /^\/(.*)\/([a-z]*)$/.exec(text);
  if (!regex) return text;
  if (!/^[imsu]*$/.test(regex[2]!))
    throw new TranscriptSyntaxError(`${where}regex flags may be i, m, s and u: /${regex[1]}/${regex[2]}`);
  try {
    return new RegExp(regex[1]!, regex[2]);
  } catch (error) {
    throw new TranscriptSyntaxError(`${where}not a regex: ${(error as Error).message}`);
  }
}

export function parseTranscript(text: string, file = '<transcript>'): TranscriptStep[] {
  return readTranscript(text, file).steps;
}

export function readTranscript(text: string, file = '<transcript>'): Transcript {
  const header: TranscriptHeader = {
    place: { channel: '#test', private: false },
    transport: 'transcript',
    people: [],
    roles: [],
    networks: [],
  };
  const seenHeaders = new Set<string>();
  const networks = new Set<string>();
  const steps: TranscriptStep[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const at = `${file}:${line}: `;
    const fail = (message: string): never => {
      throw new TranscriptSyntaxError(`${at}${message}`);
    };
    const content = raw.trimEnd();
    const trimmed = content.trim();
    if (trimmed === '') return;
    if (trimmed.startsWith(';')) {
      const h = HEADER.exec(trimmed);
      if (h) {
        const key = h[1]!.toLowerCase();
        if (seenHeaders.has(key)) fail(`a second '; ${key}:' header`);
        seenHeaders.add(key);
        readHeader(header, key, h[2]!, fail);
        return;
      }
      const d = DECLARATION.exec(trimmed);
      if (d) readDeclaration(header, d[1]!.toLowerCase(), d[2]!, line, fail);
      return;
    }
    const expectation = splitExpectation(content);
    if (expectation) {
      const step: TranscriptStep = {
        kind: 'expect',
        line,
        negative: expectation.op === '!!!',
        pattern: readPattern(expectation.pattern, at),
      };
      if (expectation.op === '>>') step.anchored = true;
      if (expectation.to !== undefined) step.to = expectation.to;
      if (expectation.place) step.place = expectation.place;
      steps.push(step);
      return;
    }
    const event = EVENT.exec(content);
    if (event) {
      steps.push(readEvent(event[1]!, event[2] ?? '', line, fail));
      return;
    }
    let rest = content;
    let place: TranscriptPlace | undefined;
    let time: string | undefined;
    for (let i = 0; i < 2; i++) {
      const p = place === undefined ? LEAD_PLACE.exec(rest) : null;
      if (p) {
        place = placeNamed(p[1]!);
        rest = rest.slice(p[0].length);
      }
      const t = time === undefined ? LEAD_TIME.exec(rest) : null;
      if (t) {
        time = `${t[1]!.padStart(2, '0')}:${t[2]}:${t[3]}`;
        rest = rest.slice(t[0].length);
      }
    }
    const spoken = SAY.exec(rest);
    const said = spoken ?? ACTION.exec(rest);
    if (!said) fail(`cannot read this line: ${content.slice(0, 80)}`);
    const step: TranscriptStep = {
      kind: 'say',
      line,
      nick: said![1]!,
      text: said![2]!,
      action: spoken === null,
    };
    if (place) step.place = place;
    if (time !== undefined) step.time = time;
    if (place?.network !== undefined) networks.add(place.network);
    steps.push(step);
  });
  if (header.transport === 'discord') {
    for (const person of header.people) {
      if (person.account !== undefined && !/^\d{5,25}$/.test(person.account))
        throw new TranscriptSyntaxError(
          `${file}:${person.line}: account=${person.account}: on Discord the account is a user id (a number)`,
        );
    }
  }
  networks.add(header.place.network ?? '');
  header.networks = [...networks].sort();
  return { header, steps };
}

function readHeader(header: TranscriptHeader, key: string, value: string, fail: (m: string) => never): void {
  if (value === '') fail(`'; ${key}:' needs a value`);
  if (key === 'place') {
    if (!new RegExp(`^${PLACE}$`, 'i').test(`[${value}]`))
      fail(`'; place: ${value}': a place is private, #channel, network/#channel or network/private`);
    header.place = placeNamed(value);
  } else if (key === 'transport') {
    const transport = value.toLowerCase() as TranscriptHeader['transport'];
    if (!TRANSPORTS.includes(transport)) fail(`'; transport: ${value}': one of irc, discord, console`);
    header.transport = transport;
  } else {
    header.config = value;
  }
}

/**
 * `; user NICK …`, `; role NAME …`, `; anonymous …`: a declaration when every word after the name
 * is `key=value` (or `unidentified`); otherwise the line is prose, a comment like any other.
 */
function readDeclaration(
  header: TranscriptHeader,
  kind: string,
  rest: string,
  line: number,
  fail: (m: string) => never,
): void {
  const words = rest === '' ? [] : rest.split(/\s+/);
  const named = kind !== 'anonymous';
  const name = named ? words.shift() : undefined;
  if (named && (name === undefined || !NAME.test(name))) return;
  if (!words.every((w) => /^[a-z]+=\S*$/i.test(w) || w.toLowerCase() === 'unidentified')) return;
  if (!named && words.length === 0) return;
  const options = new Map<string, string>();
  let unidentified = false;
  for (const word of words) {
    if (word.toLowerCase() === 'unidentified') {
      unidentified = true;
      continue;
    }
    const [key, value] = [word.slice(0, word.indexOf('=')).toLowerCase(), word.slice(word.indexOf('=') + 1)];
    if (options.has(key)) fail(`${key}= given twice`);
    options.set(key, value);
  }
  const allowed = { user: ['account', 'roles', 'system'], role: ['permissions'], anonymous: ['roles'] }[
    kind as 'user' | 'role' | 'anonymous'
  ];
  for (const key of options.keys()) {
    if (!allowed.includes(key))
      fail(`'; ${kind}': unknown ${key}= (${allowed.map((k) => `${k}=`).join(', ')})`);
  }
  const list = (key: string) => {
    const value = options.get(key);
    if (value === undefined) return undefined;
    const items = value.split(',').filter((item) => item !== '');
    if (key !== 'permissions') {
      for (const item of items) if (!NAME.test(item)) fail(`'${item}' is not a role name`);
    }
    return items;
  };
  if (kind === 'user') {
    if (header.people.some((p) => p.nick.toLowerCase() === name!.toLowerCase()))
      fail(`'; user ${name}' is declared twice`);
    const person: Person = { nick: name!, line };
    if (unidentified) {
      if (options.size > 0) fail(`an unidentified user has no account, roles or system account`);
      person.unidentified = true;
    }
    const roles = list('roles');
    if (roles) person.roles = roles;
    if (options.has('account')) person.account = options.get('account')!;
    if (options.has('system')) person.system = options.get('system')!;
    header.people.push(person);
  } else if (unidentified) {
    fail(`only a user can be unidentified`);
  } else if (kind === 'role') {
    const permissions = list('permissions');
    if (!permissions || permissions.length === 0) fail(`'; role ${name}' needs permissions=GLOB,…`);
    if (header.roles.some((r) => r.name === name)) fail(`'; role ${name}' is declared twice`);
    header.roles.push({ name: name!, permissions: permissions!, line });
  } else {
    if (header.anonymousRoles) fail(`a second '; anonymous' header`);
    const roles = list('roles');
    if (!roles) fail(`'; anonymous' takes roles=R,… (roles= for none)`);
    header.anonymousRoles = roles!;
  }
}

function readEvent(kind: string, rest: string, line: number, fail: (m: string) => never): TranscriptStep {
  if (kind !== 'event') fail(`'~~~ ${kind}': the only injection is '~~~ event HOST VM STATE'`);
  const [host, vm, state, ...why] = rest.split(/\s+/).filter((w) => w !== '');
  if (state === undefined) fail(`'~~~ event' needs HOST VM STATE`);
  if (!(LIFECYCLE_STATES as readonly string[]).includes(state!))
    fail(`'${state}' is no lifecycle event: ${LIFECYCLE_STATES.join(', ')}`);
  const step: TranscriptStep = { kind: 'event', line, host: host!, vm: vm!, state: state as LifecycleState };
  if (why.length > 0) step.detail = why.join(' ');
  return step;
}
