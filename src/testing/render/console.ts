/**
 * Plain lines, as the console and the default transcript show them: every line of every reply
 * (its text, then its detail lines), public ones in the conversation and private ones to the
 * person who asked. Nothing is split, summarized or left out.
 */
import { replyLines } from '../../core/reply.js';
import { type Renderer, whereOf } from './types.js';

export const renderPlain: Renderer = ({ replies, place, requester }) =>
  replies.flatMap((reply, i) =>
    replyLines(reply).map((text) => {
      const toRequester = reply.private === true && requester !== undefined;
      return {
        text,
        network: place.network,
        where: toRequester ? 'private' : whereOf(place),
        ...(toRequester || place.private ? { to: requester ?? place.channel } : {}),
        delivery: 'message' as const,
        message: i,
      };
    }),
  );
