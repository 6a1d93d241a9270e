/**
 * The console: a person at a terminal talks to virtbot directly, as in a private conversation:
 * every line is for the bot (the prefix is optional). The console is also a channel of its own
 * for meetings, so meeting lines (`#startmeeting`, `#topic …`) go to the meeting there. Output
 * goes through the sanitizer like every transport's: a VM name with an escape sequence cannot
 * drive the terminal.
 */
import { createInterface } from 'node:readline';
import type { ChatEvent, InboundMessage, Place, Reply } from '../core/types.js';
import type { Handler } from '../pipeline/pipeline.js';
import { address } from './address.js';
import { consoleLine, plainLines } from './sanitize.js';
import { replyLines } from './transcript.js';

export interface ConsoleOptions {
  handler: Handler;
  nick: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  prompt?: boolean;
  prefix?: string;
  botNick?: string;
  /** Told what was shown, as a transport tells what it sent (meeting logs). */
  observe?: (event: ChatEvent) => void;
}

/** The console's renderer: every reply in full (the person asked, and a terminal scrolls), errors marked. */
export function renderConsole(replies: readonly Reply[]): string {
  let out = '';
  for (const reply of replies) {
    const lines = [...plainLines(reply.text), ...(reply.lines ?? []).flatMap((l) => plainLines(l))];
    lines.forEach((line, i) => {
      out += `${i === 0 && reply.kind === 'error' ? '! ' : ''}${consoleLine(line)}\n`;
    });
  }
  return out;
}

export async function runConsole(options: ConsoleOptions): Promise<void> {
  const output = options.output ?? process.stdout;
  const input = options.input ?? process.stdin;
  const interactive = options.prompt ?? Boolean((input as { isTTY?: boolean }).isTTY);
  const lines = createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
  const prompt = () => interactive && output.write(`${options.nick}> `);
  prompt();
  for await (const raw of lines) {
    const text = raw.trim();
    if (text === 'quit' || text === 'exit') break;
    if (text !== '') {
      const said = address(
        text,
        { direct: true },
        { prefix: options.prefix ?? '!', names: [options.botNick ?? 'virtbot'] },
      );
      const place: Place = { transport: 'console', network: '', channel: '#console', private: false };
      const msg: InboundMessage = {
        place,
        sender: { nick: options.nick, local: true },
        text: said.text,
        time: new Date(),
        addressed: said.addressed,
        replyPrefix: '',
        ...(said.text !== text ? { said: text } : {}),
      };
      const replies = await options.handler(msg);
      output.write(renderConsole(replies));
      for (const line of replies.filter((r) => !r.private).flatMap(replyLines)) {
        options.observe?.({ type: 'sent', place, text: line, time: new Date() });
      }
    }
    prompt();
  }
}
