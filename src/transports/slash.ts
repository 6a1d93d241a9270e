/**
 * Discord slash commands generated from the command declarations (CommandSpec[]), and the way
 * back: a slash invocation becomes a structured command (path and option values by argument
 * name, bound by the pipeline) and, for logs, the command line a person would type.
 *
 * Mapping: path ['vm','list'] → /vm list; ['vm','nic','add'] → /vm nic add (subcommand group);
 * ['help'] → /help. Deeper paths join their tail with '-' (/a b c-d). `/meeting start|end|topic|…`
 * are built in and become the meeting lines `#startmeeting`, `#topic …`.
 *
 * Discord's limits are checked here, before anything is registered: names (1–32, lower case),
 * descriptions (1–100: long summaries are shortened at a clause, not cut mid-word), 25 options,
 * subcommands and choices per level, 100 commands, and 8000 characters of names, descriptions
 * and choices per command. A command over the size is split: its subcommand groups become
 * commands of their own (/vm-disk add). What cannot be mapped is skipped, with the reason.
 * Commands are for the guild (`contexts: [GUILD]`, guild install); a command with destructive
 * subcommands carries `default_member_permissions`, so that server admins decide who sees it.
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

/** Discord's documented limits for application commands. */
export const SLASH_LIMITS = {
  name: 32,
  description: 100,
  options: 25,
  choices: 25,
  choiceLength: 100,
  commands: 100,
  /** Combined characters of names, descriptions and choice names/values in one command. */
  commandSize: 8000,
} as const;

/** Interaction context GUILD, installation context GUILD_INSTALL. */
const GUILD_CONTEXT = 0;
const GUILD_INSTALL = 0;

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
  /** Where it may be used: the guild (dm_permission is deprecated). */
  contexts: number[];
  integration_types: number[];
  /** Permission bits a member needs to see it by default (admins can change it per role); null: everyone. */
  default_member_permissions?: string | null;
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
  /** What was adapted to fit Discord (split commands), for the log. */
  notes: string[];
}

export interface SlashOptions {
  /** Mark name-like options (VMs, hosts, networks, templates, MACs, …) for autocompletion. */
  autocomplete?: boolean;
  /** Add the built-in /meeting commands. */
  meeting?: boolean;
  /** Permission bits (a decimal string) for commands with destructive subcommands; null: none. */
  destructivePermission?: string | null;
}

/** Argument types whose values are names of things the bot can list (completion candidates). */
const COMPLETED_TYPES = new Set<ArgSpec['type']>([
  'vm',
  'host',
  'network',
  'bridge',
  'pool',
  'mac',
  'name',
  'names',
  'path',
]);

export function routeKey(name: string, group?: string | null, sub?: string | null): string {
  return [name, group, sub].filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}

/** A valid Discord command/option name: lower-case, 1–32 of letters, digits, '-' and '_'. */
export function slashName(word: string): string {
  const name = word
    .toLowerCase()
    .replace(/[^-_\p{L}\p{N}]/gu, '-')
    .slice(0, SLASH_LIMITS.name);
  return name === '' ? 'x' : name;
}

/**
 * A description of at most 100 characters. A longer summary is shortened where it reads well:
 * its first clause (before '; ', ' — ' or '. '), or without its parentheticals; only when
 * nothing else fits is it cut at a word, with '…'.
 */
export function description(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim() || '-';
  const max = SLASH_LIMITS.description;
  if (clean.length <= max) return clean;
  const firstClause = (t: string) => t.split(/;\s|\s[—–]\s|\.\s/)[0]!.trim();
  const noParens = (t: string) =>
    t
      .replace(/\s*\([^()]*\)/g, '')
      .replace(/\s+/g, ' ')
      .trim();
  for (const candidate of [firstClause(clean), noParens(clean), firstClause(noParens(clean))]) {
    if (candidate.length > 0 && candidate.length <= max) return candidate;
  }
  const cut = clean.slice(0, max - 1);
  const word = cut.lastIndexOf(' ');
  return `${(word > 40 ? cut.slice(0, word) : cut).trimEnd()}…`;
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
      if (
        arg.choices &&
        arg.choices.length > 0 &&
        arg.choices.length <= SLASH_LIMITS.choices &&
        arg.choices.every((c) => c.length >= 1 && c.length <= SLASH_LIMITS.choiceLength)
      ) {
        return { ...base, type: OptionType.String, choices: arg.choices.map((c) => ({ name: c, value: c })) };
      }
      return { ...base, type: OptionType.String, ...(autocomplete ? { autocomplete: true } : {}) };
    default:
      return {
        ...base,
        type: OptionType.String,
        ...(autocomplete && COMPLETED_TYPES.has(arg.type) ? { autocomplete: true } : {}),
      };
  }
}

/** Options for a spec, required ones first (Discord's rule), keeping declaration order otherwise. */
function optionsFor(
  spec: CommandSpec,
  autocomplete: boolean,
): { options: SlashOption[]; optionArgs: Map<string, ArgSpec>; dropped: string[] } {
  const optionArgs = new Map<string, ArgSpec>();
  const options: SlashOption[] = [];
  const dropped: string[] = [];
  for (const arg of spec.args) {
    const option = optionFor(arg, autocomplete);
    if (optionArgs.has(option.name) || options.length >= SLASH_LIMITS.options) {
      dropped.push(arg.name);
      continue;
    }
    optionArgs.set(option.name, arg);
    options.push(option);
  }
  options.sort((a, b) => Number(b.required === true) - Number(a.required === true));
  return { options, optionArgs, dropped };
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

/** Combined characters of a command as Discord counts them: names, descriptions, choice names and values. */
export function commandSize(command: { name: string; description: string; options?: SlashOption[] }): number {
  const option = (o: SlashOption): number =>
    o.name.length +
    o.description.length +
    (o.choices ?? []).reduce((n, c) => n + c.name.length + String(c.value).length, 0) +
    (o.options ?? []).reduce((n, x) => n + option(x), 0);
  return (
    command.name.length +
    command.description.length +
    (command.options ?? []).reduce((n, o) => n + option(o), 0)
  );
}

function hasDestructive(node: Node): boolean {
  if (node.route?.spec?.destructive) return true;
  for (const child of node.children.values()) if (hasDestructive(child)) return true;
  return false;
}

/**
 * Builds the slash commands for a set of declarations. `autocomplete` marks name-like options
 * for autocompletion; `meeting` adds the built-in `/meeting …` commands.
 */
export function buildSlashCommands(specs: readonly CommandSpec[], options: SlashOptions = {}): SlashSet {
  const autocomplete = options.autocomplete ?? false;
  const meeting = options.meeting ?? true;
  const destructivePermission = options.destructivePermission ?? null;
  const skipped: string[] = [];
  const notes: string[] = [];
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
      const lineOptions: SlashOption[] = [];
      if (line.arg) {
        optionArgs.set(line.arg.name, {
          name: line.arg.name,
          type: 'text',
          positional: true,
          required: line.arg.required,
          help: line.arg.help,
        });
        lineOptions.push({
          type: OptionType.String,
          name: line.arg.name,
          description: description(line.arg.help),
          required: line.arg.required,
        });
      }
      root.children.set(line.name, {
        description: line.help,
        options: lineOptions,
        route: { meeting: line.keyword, optionArgs },
        children: new Map(),
      });
    }
  }

  for (const spec of specs) {
    const words = spec.path.map(slashName);
    // The built-in /meeting holds the meeting lines: chat commands under `meeting` (meeting end
    // CHANNEL, meeting list) are offered as /meetings … instead.
    if (meeting && words[0] === 'meeting') words[0] = 'meetings';
    // A declared slash group puts a two-word command one level down: /vm power start.
    if (spec.slashGroup !== undefined && words.length === 2) words.splice(1, 0, slashName(spec.slashGroup));
    if (words.length === 0) continue;
    const label = spec.path.join(' ');
    // At most three levels: command, group, subcommand.
    const levels = words.length <= 3 ? words : [words[0]!, words[1]!, slashName(words.slice(2).join('-'))];
    let map = roots;
    let clash = false;
    for (let i = 0; i < levels.length - 1; i++) {
      const existing = map.get(levels[i]!);
      if (existing?.route) {
        clash = true;
        break;
      }
      const parent = node(
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
    if (map.size >= SLASH_LIMITS.options) {
      skipped.push(`${label}: Discord allows at most ${SLASH_LIMITS.options} subcommands per level`);
      continue;
    }
    const built = optionsFor(spec, autocomplete);
    if (built.dropped.length > 0)
      notes.push(
        `${label}: options ${built.dropped.join(', ')} left out of the slash command (Discord allows ${SLASH_LIMITS.options})`,
      );
    map.set(leafName, {
      description: spec.summary,
      options: built.options,
      route: { spec, optionArgs: built.optionArgs },
      children: new Map(),
    });
  }

  // A root over the size limit gives up its subcommand groups, largest first, as commands of their own.
  for (const [name, root] of [...roots]) {
    const groups = [...root.children].filter(([, child]) => !child.route);
    groups.sort(
      (a, b) =>
        commandSize(toCommand(`${name}-${b[0]}`, b[1])) - commandSize(toCommand(`${name}-${a[0]}`, a[1])),
    );
    while (commandSize(toCommand(name, root)) > SLASH_LIMITS.commandSize && groups.length > 0) {
      const [groupName, group] = groups.shift()!;
      const newName = slashName(`${name}-${groupName}`);
      if (roots.has(newName)) continue;
      root.children.delete(groupName);
      roots.set(newName, { description: group.description, children: group.children });
      notes.push(
        `/${name} is over Discord's ${SLASH_LIMITS.commandSize} characters: /${name} ${groupName} … is registered as /${newName} …`,
      );
    }
  }

  const routes = new Map<string, SlashRoute>();
  const commands: SlashCommand[] = [];
  for (const [name, root] of roots) {
    if (commands.length >= SLASH_LIMITS.commands) {
      skipped.push(`/${name}: Discord allows at most ${SLASH_LIMITS.commands} commands`);
      continue;
    }
    const command = toCommand(name, root);
    const size = commandSize(command);
    if (size > SLASH_LIMITS.commandSize) {
      skipped.push(
        `/${name}: ${size} characters, over Discord's ${SLASH_LIMITS.commandSize} even when split`,
      );
      continue;
    }
    if (hasDestructive(root) && destructivePermission !== null)
      command.default_member_permissions = destructivePermission;
    collectRoutes(name, root, routes);
    commands.push(command);
  }
  return { commands, routes, skipped, notes };
}

function toCommand(name: string, root: Node): SlashCommand {
  const base = {
    type: 1 as const,
    name,
    description: description(root.description),
    contexts: [GUILD_CONTEXT],
    integration_types: [GUILD_INSTALL],
  };
  if (root.route) return { ...base, options: root.options ?? [] };
  const options: SlashOption[] = [];
  for (const [childName, child] of root.children) {
    if (child.route) {
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
  return { ...base, options };
}

function collectRoutes(name: string, root: Node, routes: Map<string, SlashRoute>): void {
  if (root.route) {
    routes.set(routeKey(name), root.route);
    return;
  }
  for (const [childName, child] of root.children) {
    if (child.route) {
      routes.set(routeKey(name, null, childName), child.route);
      continue;
    }
    for (const [subName, sub] of child.children)
      if (sub.route) routes.set(routeKey(name, childName, subName), sub.route);
  }
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
  default_member_permissions?: string | null | undefined;
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
    // contexts / integration_types are not compared: Discord keeps them only for global commands.
    default_member_permissions: command.default_member_permissions ?? null,
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
