/**
 * The console: a person at a terminal talks to virtbot directly. Every line is addressed to the
 * bot except meeting lines (`#topic …`), which go to the meeting in the console's channel.
 * Output goes through the sanitizer like every transport's: a VM name with an escape sequence
 * cannot drive the terminal.
 */
import { createInterface } from 'node:readline';
import type { InboundMessage, Reply } from '../core/types.js';
import type { Handler } from '../pipeline/pipeline.js';
import { consoleLine, plainLines } from './sanitize.js';

export interface ConsoleOptions {
  handler: Handler;
  nick: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  prompt?: boolean;
  prefix?: string;
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
      const meetingLine = text.startsWith('#');
      const prefix = options.prefix ?? '!';
      const msg: InboundMessage = {
        place: { transport: 'console', network: '', channel: '#console', private: false, hearsChatter: true },
        sender: { nick: options.nick, local: true },
        text: !meetingLine && text.startsWith(prefix) ? text.slice(prefix.length) : text,
        time: new Date(),
        addressed: !meetingLine,
        replyPrefix: '',
      };
      output.write(renderConsole(await options.handler(msg)));
    }
    prompt();
  }
}
