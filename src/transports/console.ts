/**
 * The console: a person at a terminal talks to virtbot directly. Every line is addressed to the
 * bot except meeting lines (`#topic …`), which go to the meeting in the console's channel.
 */
import { createInterface } from 'node:readline';
import type { InboundMessage } from '../core/types.js';
import type { Handler } from '../pipeline/pipeline.js';

export interface ConsoleOptions {
  handler: Handler;
  nick: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  prompt?: boolean;
  prefix?: string;
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
        place: { transport: 'console', network: '', channel: '#console', private: false },
        sender: { nick: options.nick, local: true },
        text: !meetingLine && text.startsWith(prefix) ? text.slice(prefix.length) : text,
        time: new Date(),
        addressed: !meetingLine,
      };
      for (const reply of await options.handler(msg)) {
        output.write(`${reply.kind === 'error' ? '! ' : ''}${reply.text}\n`);
      }
    }
    prompt();
  }
}
