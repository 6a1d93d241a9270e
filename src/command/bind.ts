/**
 * Binds what a person gave to a command's declared arguments, with one validator per type:
 *  - typed text: positionals in order (the last `names`/`text` positional takes the rest),
 *    named ones as key=value or --flag;
 *  - a structured command (a Discord slash command or button): values by argument name.
 * Then the declared constraints between arguments. Every error quotes the bad token and ends
 * with the usage line; nothing that fails here reaches a backend.
 */
import { showToken } from '../grammar/show.js';
import { didYouMean } from '../grammar/suggest.js';
import type { Token } from '../grammar/tokenize.js';
import { ArgError, type ValidationContext, validateValue } from '../grammar/types.js';
import { brokenConstraint } from './constraints.js';
import type { ArgSpec, Args, ArgValue, CommandSpec } from './spec.js';
import { usageLine } from './usage.js';

export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(`${message} — usage: ${usage}`);
    this.name = 'UsageError';
  }
}

function isRest(arg: ArgSpec): boolean {
  return arg.positional === true && (arg.type === 'names' || arg.type === 'text');
}

/** Binds typed tokens (the words after the command's path). */
export function bindTokens(spec: CommandSpec, tokens: readonly Token[], ctx: ValidationContext): Args {
  const fail = (message: string): never => {
    throw new UsageError(message, usageLine(spec));
  };
  const byName = new Map(spec.args.map((a) => [a.name, a]));
  const positionals = spec.args.filter((a) => a.positional);
  const raw = new Map<string, string[]>();
  let position = 0;

  for (const token of tokens) {
    const named = token.key ?? token.flag;
    if (named !== undefined) {
      const arg = byName.get(named);
      if (!arg)
        fail(`unknown option '${named}' for ${spec.path.join(' ')}${didYouMean(named, byName.keys())}`);
      if (raw.has(named) && !isRest(arg!)) fail(`'${named}' given twice`);
      if (token.flag !== undefined) {
        if (arg!.type !== 'bool') fail(`'--${named}' needs a value: ${named}=${arg!.name.toUpperCase()}`);
        raw.set(named, ['yes']);
      } else {
        raw.set(named, [...(raw.get(named) ?? []), token.value]);
      }
      continue;
    }
    const arg = positionals[position];
    if (!arg) fail(`unexpected ${showToken(token.raw)}`);
    raw.set(arg!.name, [...(raw.get(arg!.name) ?? []), token.value]);
    if (!isRest(arg!)) position++;
  }
  return finish(spec, raw, ctx);
}

/** Binds a structured command's option values (by argument name). */
export function bindOptions(
  spec: CommandSpec,
  options: Readonly<Record<string, string | number | boolean>>,
  ctx: ValidationContext,
): Args {
  const byName = new Map(spec.args.map((a) => [a.name, a]));
  const raw = new Map<string, string[]>();
  for (const [name, value] of Object.entries(options)) {
    if (!byName.has(name)) {
      throw new UsageError(`unknown option '${name}' for ${spec.path.join(' ')}`, usageLine(spec));
    }
    const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
    if (text !== '') raw.set(name, [text]);
  }
  return finish(spec, raw, ctx);
}

function finish(spec: CommandSpec, raw: Map<string, string[]>, ctx: ValidationContext): Args {
  const fail = (message: string): never => {
    throw new UsageError(message, usageLine(spec));
  };
  const args: Args = {};
  for (const arg of spec.args) {
    const values = raw.get(arg.name);
    if (values === undefined) {
      if (arg.required) fail(`missing ${arg.name.toUpperCase()}`);
      continue;
    }
    try {
      args[arg.name] = convert(arg, values, ctx);
    } catch (error) {
      if (error instanceof ArgError) fail(error.message);
      throw error;
    }
  }
  const broken = brokenConstraint(spec.constraints, args);
  if (broken !== undefined) fail(broken);
  return args;
}

function convert(arg: ArgSpec, values: string[], ctx: ValidationContext): ArgValue {
  if (arg.type === 'names') {
    const names = values.flatMap((v) => validateValue(v, arg, ctx) as string[]);
    if (names.length === 0) throw new ArgError(`${arg.name} needs at least one name`);
    return [...new Set(names)];
  }
  if (arg.type === 'text') return validateValue(values.join(' '), arg, ctx);
  return validateValue(values[0]!, arg, ctx);
}

/**
 * The canonical command line for bound arguments: `vm nic add web01 network=default`. Used in
 * prompts and records, and for structured commands, which have no typed line.
 */
export function canonicalLine(spec: CommandSpec, args: Args): string {
  const words: string[] = [...spec.path];
  let inOrder = true;
  for (const arg of spec.args) {
    const value = args[arg.name];
    if (value === undefined) {
      if (arg.positional) inOrder = false;
      continue;
    }
    const text = show(arg, value);
    words.push(arg.positional && inOrder ? text : `${arg.name}=${text}`);
  }
  return words.join(' ');
}

function show(arg: ArgSpec, value: ArgValue): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return arg.positional ? value.map(quote).join(' ') : quote(value.join(','));
  if (arg.type === 'size' && typeof value === 'number') return exactSize(value);
  return quote(String(value));
}

/** A size in KiB in the largest unit that states it exactly: 1048576 → 1G, 1536 → 1536K. */
function exactSize(kib: number): string {
  for (const [unit, factor] of [
    ['T', 1024 ** 3],
    ['G', 1024 ** 2],
    ['M', 1024],
  ] as const) {
    if (kib >= factor && kib % factor === 0) return `${kib / factor}${unit}`;
  }
  return `${kib}K`;
}

function quote(text: string): string {
  if (text !== '' && !/[\s"'\\=]/.test(text) && !text.startsWith('--')) return text;
  return `"${text.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}
