import { CommandError } from '../../command/spec.js';
import type { Middleware } from '../composer.js';
import type { PipelineDeps } from '../deps.js';
import { conclude, type Turn } from '../turn.js';

/** Runs the command. A CommandError is the command's own, user-facing failure; anything else is a crash. */
export function execute(deps: PipelineDeps): Middleware<Turn> {
  return async (turn) => {
    try {
      const result = await turn.spec!.run(deps.commandContext(turn), turn.args!);
      turn.result = result;
      if (result.host !== undefined) turn.host = result.host;
      if (result.vm !== undefined) turn.vm = result.vm;
      conclude(turn, result.outcome ?? 'ok', result.detail ?? result.reply);
      // The person sees the short reply; the record keeps the detail.
      turn.replies[turn.replies.length - 1]!.text = result.reply;
      for (const line of result.lines ?? []) turn.replies.push({ text: line, kind: 'reply' });
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      conclude(turn, error.outcome, error.message);
    }
  };
}
