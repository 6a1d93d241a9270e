/**
 * When a transport just taken over can speak in its channels: an IRC network once it has
 * joined one (a line to a channel before JOIN is refused on +n channels), Discord as soon as it
 * is logged in. Bounded: a channel that refuses us must not hold the rest up.
 */
import { IrcTransport } from '../transports/irc.js';
import type { Transport } from '../transports/transport.js';

export function readyToSpeak(transport: Transport, ms = 3000): Promise<void> {
  if (!(transport instanceof IrcTransport) || transport.joinedChannels.length > 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      transport.off('joined', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    transport.once('joined', done);
  });
}
