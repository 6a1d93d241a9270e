/**
 * Examples double as transcripts: a command declaration's example (`{ input, reply, as?, place?,
 * transport? }`) as the transcript that checks it — the person, the place and the transport as
 * headers, the input said as it would be there, and the reply expected in answer to it (`>>`).
 */
import type { Example } from '../command/spec.js';
import { readPattern, splitExpectation } from './syntax.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The expectation of a reply: the literal text, or a regex when the text would read as something else. */
function expectation(reply: string | RegExp): string {
  if (typeof reply !== 'string') return `>> /${reply.source}/${reply.flags}`;
  const literal = `>> ${reply}`;
  const back = splitExpectation(literal);
  const readsBack = back?.head === '' && back.pattern === reply && readPattern(reply) === reply;
  return readsBack && reply.trim() === reply ? literal : `>> /${escapeRegExp(reply)}/`;
}

export function exampleTranscript(example: Example, prefix: string): string {
  const place = example.place ?? '#examples';
  const nick = example.as === 'admin' ? 'admin' : 'alice';
  const lines = [`; place: ${place}`];
  if (example.transport) lines.push(`; transport: ${example.transport}`);
  if (example.as === 'admin') lines.push('; user admin roles=admin', '; role admin permissions=*');
  if (example.as === 'anonymous') lines.push(`; user ${nick} unidentified`);
  // In a channel a command is given with the prefix (on Discord as a slash command); privately
  // and on the console it needs none.
  const bare = place === 'private' || example.transport === 'console';
  const lead = example.transport === 'discord' ? '/' : bare ? '' : prefix;
  lines.push(`<${nick}> ${lead}${example.input}`, expectation(example.reply));
  return `${lines.join('\n')}\n`;
}
