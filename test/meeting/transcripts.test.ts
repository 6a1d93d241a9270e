/**
 * Runs test/transcripts/meeting-*.chat against the MeetingManager alone, with the same reading
 * of the format as `virtbot test` (which runs them through the whole bot): `<nick> text` with an
 * optional `HH:MM:SS ` prefix that sets the clock, `* nick text` for /me, `>>> text` or
 * `>>> /regex/` = a later reply contains it (scanning forward), `!!! text` = no reply to the most
 * recent message contains it, `;` comments, blank lines ignored.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MeetingManager } from '../../src/meeting/manager.js';

const DIR = 'test/transcripts';
const files = readdirSync(DIR)
  .filter((f) => /^meeting-.*\.chat$/.test(f))
  .sort();
const DAY = Date.UTC(2024, 0, 15);

function run(file: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'virtbot-meeting-chat-'));
  const manager = new MeetingManager({
    dataDir: join(dir, 'data'),
    minutesDir: join(dir, 'minutes'),
    botNick: 'virtbot',
    fsync: false,
  });
  const failures: string[] = [];
  const replies: string[] = [];
  let cursor = 0;
  let last: string[] = [];
  let clock = DAY + 9 * 3600_000;
  const lines = readFileSync(join(DIR, file), 'utf8').split('\n');
  lines.forEach((raw, index) => {
    const where = `${file}:${index + 1}`;
    const line = raw.trimEnd();
    if (line === '' || line.startsWith(';')) return;
    if (line.startsWith('>>> ')) {
      const want = line.slice(4);
      const re = /^\/(.*)\/$/.exec(want);
      const found = replies.findIndex(
        (r, i) => i >= cursor && (re ? new RegExp(re[1]!).test(r) : r.includes(want)),
      );
      if (found < 0)
        failures.push(
          `${where}: expected a reply containing ${JSON.stringify(want)}; replies since: ${JSON.stringify(replies.slice(cursor))}`,
        );
      else cursor = found + 1;
      return;
    }
    if (line.startsWith('!!! ')) {
      const bad = last.find((r) => r.includes(line.slice(4)));
      if (bad !== undefined) failures.push(`${where}: unexpected reply ${JSON.stringify(bad)}`);
      return;
    }
    const m = /^(?:(\d{2}):(\d{2}):(\d{2}) )?(?:<([^>\s]+)> (.*)|\* (\S+) (.*))$/.exec(line);
    if (!m) {
      failures.push(`${where}: cannot read this line: ${line}`);
      return;
    }
    if (m[1]) clock = DAY + (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000;
    const action = m[4] === undefined;
    const r = manager.ingest('transcript::#meeting', '#meeting', {
      nick: action ? m[6]! : m[4]!,
      text: action ? m[7]! : m[5]!,
      time: clock,
      action,
    });
    last = r.replies.map((x) => x.text);
    replies.push(...last);
  });
  return failures;
}

describe('meeting transcripts (against the MeetingManager)', () => {
  // That every command of the table is used in a transcript is checked in table.test.ts.
  it.each(files)('%s', (file) => {
    expect(run(file)).toEqual([]);
  });
});
