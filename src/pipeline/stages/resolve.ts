import { type CommandRegistry, ResolveError } from '../../command/registry.js';
import { type Parsed, type Resolved, stop } from '../invocation.js';

/** Finds the declared command: by its path (structured) or longest match of the leading words. */
export function resolve(parsed: Parsed, registry: CommandRegistry): Resolved {
  try {
    const structured = parsed.msg.command;
    if (structured) return { ...parsed, command: registry.byWords(structured.path) };
    const { spec, consumed } = registry.resolve(parsed.tokens ?? []);
    return { ...parsed, command: spec, rest: (parsed.tokens ?? []).slice(consumed) };
  } catch (error) {
    if (!(error instanceof ResolveError)) throw error;
    throw stop('invalid', error.message, { unknownCommand: true });
  }
}
