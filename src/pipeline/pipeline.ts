/**
 * The one pipeline every message goes through, whatever the transport:
 *
 *   identify → meeting → record( rate-limit → parse → resolve → validate → authorize → confirm → execute )
 *
 * `record` wraps the operation stages so that every outcome, including a crash, is recorded
 * before the reply is returned to the transport.
 */
import { placeKey } from '../core/place.js';
import type { InboundMessage, Reply } from '../core/types.js';
import { compose } from './composer.js';
import type { PipelineDeps } from './deps.js';
import { authorize } from './stages/authorize.js';
import { confirm } from './stages/confirm.js';
import { execute } from './stages/execute.js';
import { identify } from './stages/identify.js';
import { meeting } from './stages/meeting.js';
import { parse } from './stages/parse.js';
import { rateLimit } from './stages/rate-limit.js';
import { record } from './stages/record.js';
import { resolve } from './stages/resolve.js';
import { validate } from './stages/validate.js';
import type { Turn } from './turn.js';

export type Handler = (msg: InboundMessage) => Promise<Reply[]>;

export function createPipeline(deps: PipelineDeps): Handler {
  const run = compose<Turn>([
    identify(deps),
    meeting(deps),
    record(deps),
    rateLimit(deps),
    parse(),
    resolve(deps),
    validate(deps),
    authorize(deps),
    confirm(deps),
    execute(deps),
  ]);
  return async (msg) => {
    const turn: Turn = {
      msg,
      placeKey: placeKey(msg.place),
      identity: { user: null, groups: [], roles: [], proof: 'anonymous', nick: msg.sender.nick },
      line: msg.text.trim(),
      replies: [],
    };
    try {
      await run(turn);
    } catch (error) {
      // Outside the record stage (identity, meetings): nothing ran, say so without a stack trace.
      deps.logger.error({ err: error, line: turn.line }, 'message handling failed');
      return [{ text: 'internal error: the message was not processed', kind: 'error' }];
    }
    return turn.replies;
  };
}
