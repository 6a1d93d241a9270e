/**
 * Discord slash commands generated from the command declarations (CommandSpec[]), and the way
 * back: a slash invocation becomes the same command line a person would type, so parsing and
 * validation stay in one place (the pipeline).
 *
 * Mapping: path ['vm','list'] → /vm list; ['vm','nic','add'] → /vm nic add (subcommand group);
 * ['help'] → /help. Deeper paths join their tail with '-' (/a b c-d). `/meeting start|end|topic|…`
 * are built in and become the meeting lines `#startmeeting`, `#topic …`.
 */
import type { ArgSpec, CommandSpec } from '../command/spec.js';
import { slashMeetingLines } from '../meeting/commands.js';
import { quoteArg } from './text.js';

/** Discord's application command option types (the subset used here). */
export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
} as const;

export interface SlashChoice {
  name: string;
  value: string;
}

export interface SlashOption {
  type: number;
  name: string;
  description: string;
  required?: boolean;
  choices?: SlashChoice[];
  min_value?: number;
  max_value?: number;
  autocomplete?: boolean;
  options?: SlashOption[];
}

/** The JSON body for one chat-input command (PUT /applications/:app/guilds/:guild/commands). */
export interface SlashCommand {
  type: 1;
  name: string;
  description: string;
  options?: SlashOption[];
  /** Usable in DMs too (legacy field, still honoured). */
  dm_permission?: boolean;
}

/** What a slash invocation means. */
export interface SlashRoute {
  /** For commands: the CommandSpec. */
  spec?: CommandSpec;
  /** For /meeting …: the meeting keyword, e.g. '#topic'. */
  meeting?: string;
  /** Discord option name → argument name. */
  optionArgs: Map<string, ArgSpec>;
}

export interface SlashSet {
  commands: SlashCommand[];
  /** Key: `name`, `name sub` or `name group sub` (see routeKey). */
  routes: Map<string, SlashRoute>;
  /** Declarations that could not be mapped (name clashes, Discord limits), with the reason. */
  skipped: string[];
}

const MAX_CHILDREN = 25;
const MAX_CHOICES = 25;

export function routeKey(name: string, group?: string | null, sub?: string | null): string {
  return [name, group, sub].filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}

/** A valid Discord command/option name: lower-case, 1–32 of letters, digits, '-' and '_'. */
export function slashName(word: string): string {
  const name = word
    .toLowerCase()
    .replace(/[^-_\p{L}\p{N}]/gu, '-')
    .slice(0, 32);
  return name === '' ? 'x' : name;
}

function description(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim() || '-';
  return clean.length <= 100 ? clean : `${clean.slice(0, 99)}…`;
}

function optionFor(arg: ArgSpec, autocomplete: boolean): SlashOption {
  const base = {
    name: slashName(arg.name),
    description: description(arg.help),
    required: arg.required === true,
  };
  switch (arg.type) {
    case 'int':
      return {
        ...base,
        type: OptionType.Integer,
        ...(arg.min !== undefined ? { min_value: arg.min } : {}),
        ...(arg.max !== undefined ? { max_value: arg.max } : {}),
      };
    case 'bool':
      return { ...base, type: OptionType.Boolean };
    case 'enum':
      if (arg.choices && arg.choices.length > 0 && arg.choices.length <= MAX_CHOICES) {
        return { ...base, type: OptionType.String, choices: arg.choices.map((c) => ({ name: c, value: c })) };
      }
      return { ...base, type: OptionType.String };
    case 'vm':
    case 'host':
      return { ...base, type: OptionType.String, ...(autocomplete ? { autocomplete: true } : {}) };
    default:
      return { ...base, type: OptionType.String };
  }
}

/** Options for a spec, required ones first (Discord's rule), keeping declaration order otherwise. */
function optionsFor(
  spec: CommandSpec,
  autocomplete: boolean,
): { options: SlashOption[]; optionArgs: Map<string, ArgSpec> } {
  const optionArgs = new Map<string, ArgSpec>();
  const options: SlashOption[] = [];
  for (const arg of spec.args.slice(0, MAX_CHILDREN)) {
    const option = optionFor(arg, autocomplete);
    if (optionArgs.has(option.name)) continue;
    optionArgs.set(option.name, arg);
    options.push(option);
  }
  options.sort((a, b) => Number(b.required === true) - Number(a.required === true));
  return { options, optionArgs };
}

interface MeetingLine {
  name: string;
  keyword: string;
  help: string;
  arg?: { name: string; help: string; required: boolean };
}

/** `/meeting …` subcommands and the meeting lines they stand for: derived from the meeting command table. */
export const MEETING_LINES: readonly MeetingLine[] = slashMeetingLines();

interface Node {
  route?: SlashRoute;
  options?: SlashOption[];
  description: string;
  children: Map<string, Node>;
}

/**
 * Builds the slash commands for a set of declarations. `autocomplete` marks VM and host options
 * for autocompletion; `meeting` adds the built-in `/meeting …` commands.
 */
export function buildSlashCommands(
  specs: readonly CommandSpec[],
  { autocomplete = false, meeting = true }: { autocomplete?: boolean; meeting?: boolean } = {},
): SlashSet {
  const skipped: string[] = [];
  const roots = new Map<string, Node>();
  const node = (map: Map<string, Node>, name: string, desc: string): Node => {
    let n = map.get(name);
    if (!n) {
      n = { description: desc, children: new Map() };
      map.set(name, n);
    }
    return n;
  };

  if (meeting) {
    const root = node(roots, 'meeting', 'Meeting minutes: start, topics, items, end');
    for (const line of MEETING_LINES) {
      const optionArgs = new Map<string, ArgSpec>();
      const options: SlashOption[] = [];
      if (line.arg) {
        optionArgs.set(line.arg.name, {
          name: line.arg.name,
          type: 'text',
          positional: true,
          required: line.arg.required,
          help: line.arg.help,
        });
        options.push({
          type: OptionType.String,
          name: line.arg.name,
          description: line.arg.help,
          required: line.arg.required,
        });
      }
      root.children.set(line.name, {
        description: line.help,
        options,
        route: { meeting: line.keyword, optionArgs },
        children: new Map(),
      });
    }
  }

  for (const spec of specs) {
    const words = spec.path.map(slashName);
    if (words.length === 0) continue;
    const label = spec.path.join(' ');
    // At most three levels: command, group, subcommand.
    const levels = words.length <= 3 ? words : [words[0]!, words[1]!, slashName(words.slice(2).join('-'))];
    let map = roots;
    let parent: Node | undefined;
    let clash = false;
    for (let i = 0; i < levels.length - 1; i++) {
      const existing = map.get(levels[i]!);
      if (existing?.route) {
        clash = true;
        break;
      }
      parent = node(
        map,
        levels[i]!,
        i === 0 ? `${levels[0]} commands` : `${levels.slice(0, i + 1).join(' ')} commands`,
      );
      map = parent.children;
    }
    const leafName = levels[levels.length - 1]!;
    if (clash || map.has(leafName)) {
      skipped.push(`${label}: the slash name is already taken`);
      continue;
    }
    if (map.size >= MAX_CHILDREN || (parent === undefined && roots.size >= 100)) {
      skipped.push(`${label}: Discord allows at most ${MAX_CHILDREN} subcommands per level (100 commands)`);
      continue;
    }
    const { options, optionArgs } = optionsFor(spec, autocomplete);
    map.set(leafName, {
      description: description(spec.summary),
      options,
      route: { spec, optionArgs },
      children: new Map(),
    });
  }

  const routes = new Map<string, SlashRoute>();
  const commands: SlashCommand[] = [];
  for (const [name, root] of roots) {
    if (root.route) {
      routes.set(routeKey(name), root.route);
      commands.push({
        type: 1,
        name,
        description: description(root.description),
        options: root.options ?? [],
        dm_permission: true,
      });
      continue;
    }
    const options: SlashOption[] = [];
    for (const [childName, child] of root.children) {
      if (child.route) {
        routes.set(routeKey(name, null, childName), child.route);
        options.push({
          type: OptionType.Subcommand,
          name: childName,
          description: description(child.description),
          options: child.options ?? [],
        });
        continue;
      }
      const subs: SlashOption[] = [];
      for (const [subName, sub] of child.children) {
        if (!sub.route) continue;
        routes.set(routeKey(name, childName, subName), sub.route);
        subs.push({
          type: OptionType.Subcommand,
          name: subName,
          description: description(sub.description),
          options: sub.options ?? [],
        });
      }
      options.push({
        type: OptionType.SubcommandGroup,
        name: childName,
        description: description(child.description),
        options: subs,
      });
    }
    commands.push({
      type: 1,
      name,
      description: description(root.description),
      options,
      dm_permission: true,
    });
  }
  return { commands, routes, skipped };
}

export type OptionValues = Record<string, string | number | boolean | undefined>;

function formatValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/**
 * Turns a slash invocation back into the command line a person would type:
 * `vm nic add web01 network=default`. Positional arguments stay positional while they come in
 * order; after a gap they are given as name=value. Values are quoted where the tokenizer would
 * otherwise split or misread them (spaces, quotes, '=', a leading '--').
 */
export function invocationToText(route: SlashRoute, values: OptionValues): string {
  if (route.meeting) {
    const text = Object.values(values)
      .filter((v) => v !== undefined && v !== '')
      .map(String)
      .join(' ')
      .trim();
    return text === '' ? route.meeting : `${route.meeting} ${text}`;
  }
  const spec = route.spec!;
  const byArg = new Map<string, string | number | boolean>();
  for (const [option, arg] of route.optionArgs) {
    const value = values[option];
    if (value !== undefined && value !== '') byArg.set(arg.name, value);
  }
  const words = [...spec.path];
  let inOrder = true;
  for (const arg of spec.args.filter((a) => a.positional)) {
    const value = byArg.get(arg.name);
    if (value === undefined) {
      inOrder = false;
      continue;
    }
    byArg.delete(arg.name);
    const text = quoteArg(formatValue(value));
    words.push(inOrder ? text : `${arg.name}=${text}`);
  }
  for (const arg of spec.args) {
    const value = byArg.get(arg.name);
    if (value === undefined) continue;
    words.push(`${arg.name}=${quoteArg(formatValue(value))}`);
  }
  return words.join(' ');
}

/** A comparable form of a command (what Discord stores), for "changed since registration?". */
export function normalizeCommand(command: {
  name: string;
  description: string;
  options?: readonly unknown[] | undefined;
  type?: number;
}): unknown {
  const option = (o: SlashOption): unknown => ({
    type: o.type,
    name: o.name,
    description: o.description,
    required: o.required === true,
    choices: (o.choices ?? []).map((c) => ({ name: c.name, value: c.value })),
    min_value: o.min_value ?? null,
    max_value: o.max_value ?? null,
    autocomplete: o.autocomplete === true,
    options: (o.options ?? []).map(option),
  });
  return {
    type: command.type ?? 1,
    name: command.name,
    description: command.description,
    options: ((command.options ?? []) as SlashOption[]).map(option),
  };
}

/** True when the registered commands differ from the wanted ones (order of commands ignored). */
export function commandsDiffer(
  registered: readonly SlashCommand[] | readonly unknown[],
  wanted: readonly SlashCommand[],
): boolean {
  const key = (list: readonly unknown[]) =>
    (list as SlashCommand[])
      .map((c) => JSON.stringify(normalizeCommand(c)))
      .sort()
      .join('\n');
  return key(registered) !== key(wanted);
}
