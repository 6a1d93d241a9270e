/** Usage lines and help text, derived from the declarations only. */
import { formatKiB } from '../grammar/types.js';
import { describeConstraint } from './constraints.js';
import type { ArgSpec, CommandSpec } from './spec.js';

function placeholder(arg: ArgSpec): string {
  if (arg.type === 'enum' && arg.choices && arg.choices.length <= 4) return arg.choices.join('|');
  return arg.name.toUpperCase();
}

function argUsage(arg: ArgSpec): string {
  let text: string;
  if (arg.positional) {
    text = placeholder(arg);
    if (arg.type === 'names') text = `${text}…`;
    if (arg.type === 'text') text = `${text}…`;
  } else if (arg.type === 'bool') {
    text = `--${arg.name}`;
  } else {
    text = `${arg.name}=${placeholder(arg)}`;
  }
  return arg.required ? text : `[${text}]`;
}

export function usageLine(spec: Pick<CommandSpec, 'path' | 'args'>): string {
  return [spec.path.join(' '), ...spec.args.map(argUsage)].join(' ');
}

/** The declared rules between arguments, in words ("give network= or bridge=, not both"). */
export function constraintNotes(spec: Pick<CommandSpec, 'constraints'>): string[] {
  return spec.constraints.map(describeConstraint);
}

export function describeArg(arg: ArgSpec): string {
  const extra: string[] = [];
  if (arg.type === 'enum' && arg.choices) extra.push(`one of ${arg.choices.join(', ')}`);
  if (arg.type === 'size') extra.push('size like 2G or 512M');
  if (arg.min !== undefined || arg.max !== undefined) {
    const show = (n: number | undefined) =>
      n === undefined ? '' : arg.type === 'size' ? formatKiB(n) : String(n);
    extra.push(`${show(arg.min)}..${show(arg.max)}`);
  }
  return `${argUsage(arg)} — ${arg.help}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

/** Full help for one command: usage, summary, arguments, permission, examples. */
export function commandHelp(spec: CommandSpec, permission: string): string[] {
  const lines = [
    `usage: ${usageLine(spec)}`,
    `${spec.summary}${spec.destructive ? ' (destructive: asks for confirmation)' : ''}`,
  ];
  for (const arg of spec.args) lines.push(`  ${describeArg(arg)}`);
  for (const note of constraintNotes(spec)) lines.push(`  ${note}`);
  lines.push(`permission: ${permission}`);
  for (const example of spec.examples.slice(0, 3)) lines.push(`example: ${example.input}`);
  return lines;
}

/** One line per command under a group or prefix. */
export function listing(specs: CommandSpec[]): string[] {
  return specs.map((spec) => `${usageLine(spec)} — ${spec.summary}`);
}
