import { bindOptions, bindTokens, canonicalLine, UsageError } from '../../command/bind.js';
import type { ValidationContext } from '../../grammar/types.js';
import { type Bound, type Resolved, stop } from '../invocation.js';

/** Binds and type-checks the arguments, and the rules between them; nothing failing here runs. */
export function bind(resolved: Resolved, validation: ValidationContext): Bound {
  const { command } = resolved;
  try {
    const structured = resolved.msg.command;
    const args = structured
      ? bindOptions(command, structured.options, validation)
      : bindTokens(command, resolved.rest ?? [], validation);
    return { ...resolved, args, canonical: canonicalLine(command, args) };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw stop('invalid', error.message);
  }
}
