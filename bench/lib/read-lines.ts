/**
 * The floor for the replay benchmark: a Node process that streams a file the way `virtbot
 * replay` does (UTF-8, 1 MiB chunks), splits it into lines and counts them. Prints the count.
 *
 *   node dist/bench/lib/read-lines.js FILE
 */
import { createReadStream } from 'node:fs';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: read-lines FILE\n');
  process.exit(2);
}
let lines = 0;
let chars = 0;
let rest = '';
for await (const chunk of createReadStream(file, {
  encoding: 'utf8',
  highWaterMark: 1 << 20,
}) as AsyncIterable<string>) {
  const data = rest + chunk;
  let start = 0;
  for (let nl = data.indexOf('\n', start); nl !== -1; nl = data.indexOf('\n', start)) {
    chars += nl - start;
    lines++;
    start = nl + 1;
  }
  rest = data.slice(start);
}
if (rest !== '') lines++;
process.stdout.write(`${lines} lines, ${chars} characters\n`);
