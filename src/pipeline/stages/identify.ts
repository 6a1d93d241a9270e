import { identityKey } from '../../auth/confirmations.js';
import { resolveIdentity } from '../../auth/identity.js';
import type { Config } from '../../config/schema.js';
import { placeKey } from '../../core/place.js';
import type { InboundMessage } from '../../core/types.js';
import type { Utterance } from '../invocation.js';

/** Who is speaking, from the transport's proof (never from the nick alone), and where. */
export function identify(config: Config, msg: InboundMessage): Utterance {
  const key = placeKey(msg.place);
  const identity = resolveIdentity(config, msg.place, msg.sender);
  return {
    msg,
    identity,
    placeKey: key,
    requester: identityKey(identity, key, msg.sender),
    line: msg.text.trim(),
  };
}
