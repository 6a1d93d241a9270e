/** Usage lines and help text, derived from the declarations only. */
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

export function usageLine(spec: CommandSpec): string {
  return [spec.path.join(' '), ...spec.args.map(argUsage)].join(' ');
}

export function describeArg(arg: ArgSpec): string {
  const extra: string[] = [];
  if (arg.type === 'enum' && arg.choices) extra.push(`one of ${arg.choices.join(', ')}`);
  if (arg.type === 'size') extra.push('size like 2G or 512M');
  if (arg.min !== undefined || arg.max !== undefined) extra.push(`${arg.min ?? ''}..${arg.max ?? ''}`);
  return `${argUsage(arg)} — ${arg.help}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

/** Full help for one command: usage, summary, arguments, permission, examples. */
export function commandHelp(spec: CommandSpec, permission: string): string[] {
  const lines = [
    `usage: ${usageLine(spec)}`,
    `${spec.summary}${spec.destructive ? ' (destructive: asks for confirmation)' : ''}`,
  ];
  for (const arg of spec.args) lines.push(`  ${describeArg(arg)}`);
  lines.push(`permission: ${permission}`);
  for (const example of spec.examples.slice(0, 3)) lines.push(`example: ${example.input}`);
  return lines;
}

/** One line per command under a group or prefix. */
export function listing(specs: CommandSpec[]): string[] {
  return specs.map((spec) => `${usageLine(spec)} — ${spec.summary}`);
}
