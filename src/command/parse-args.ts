/**
 * Binds tokens to a command's declared arguments: positionals in order (the last `names`/`text`
 * positional takes the rest), named ones as key=value or --flag. Every error quotes the bad token
 * and ends with the usage line.
 */
import { showToken } from '../grammar/show.js';
import { didYouMean } from '../grammar/suggest.js';
import type { Token } from '../grammar/tokenize.js';
import { ArgError, type ValidationContext, validateValue } from '../grammar/types.js';
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

export function parseArgs(spec: CommandSpec, tokens: Token[], ctx: ValidationContext): Args {
  const usage = usageLine(spec);
  const fail = (message: string): never => {
    throw new UsageError(message, usage);
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
