/**
 * Replay of one meeting in each IRC client's default log format (test/fixtures/meeting/clients/,
 * written from each client's documented format): the format is detected, the date comes from
 * the log (not the file's mtime), midnight and nick changes are followed, nothing is unreadable.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { detectFormat, LOG_FORMATS } from '../../src/meeting/replay/formats/index.js';
import { formatReplaySummary, replay } from '../../src/meeting/replay.js';

const DIR = 'test/fixtures/meeting/clients';
const out = () => mkdtempSync(join(tmpdir(), 'virtbot-clients-'));

const CASES = [
  {
    file: 'irssi.log',
    format: 'irssi',
    start: '2014-04-16 22:59:00',
    end: '2014-04-17 00:04:00',
    skipped: 4,
  },
  {
    file: 'weechat.log',
    format: 'weechat',
    start: '2014-04-16 20:59:00',
    end: '2014-04-16 22:04:00',
    skipped: 1,
  },
  {
    file: '#kimchi_20140416.log',
    format: 'znc',
    start: '2014-04-16 22:59:00',
    end: '2014-04-16 23:59:30',
    skipped: 1,
  },
  {
    file: 'limnoria.log',
    format: 'limnoria',
    start: '2014-04-16 22:59:00',
    end: '2014-04-17 00:04:00',
    skipped: 1,
  },
  {
    file: 'hexchat.log',
    format: 'hexchat',
    start: '2014-04-16 22:59:00',
    end: '2014-04-17 00:04:00',
    skipped: 3,
  },
  {
    file: 'quassel.txt',
    format: 'quassel',
    start: '2014-04-16 22:59:00',
    end: '2014-04-17 00:04:00',
    skipped: 2,
  },
  {
    file: 'irccloud.txt',
    format: 'irccloud',
    start: '2014-04-16 22:59:00',
    end: '2014-04-17 00:04:00',
    skipped: 1,
  },
] as const;

describe('replay: one log per IRC client', () => {
  it.each(CASES)('$format ($file)', async ({ file, format, start, end, skipped }) => {
    const r = await replay({ logFile: join(DIR, file), channel: '#kimchi', outDir: out() });
    expect(r.format).toBe(format);
    expect(r.unreadable).toEqual([]);
    expect(r.dateSource === 'log' || r.dateSource === 'file-name').toBe(true);
    expect(r.skipped).toBe(skipped);
    expect(r.nickChanges).toBe(1);
    expect(r.meetings).toHaveLength(1);
    const m = r.meetings[0]!;
    expect([m.start, m.end]).toEqual([start, end]);
    expect(m.name).toBe('scrum');
    expect(m.unterminated).toBe(false);
    // alice became alice_ and is still the chair (she ended the meeting) and one person.
    expect(m.people).toEqual([
      { nick: 'alice / alice_', count: 3 },
      { nick: 'bob', count: 3 },
    ]);
    expect(m.items.map((i) => [i.type, i.nick, i.text])).toEqual([
      ['INFO', 'alice_', expect.stringMatching(/^done (after|before) midnight$/)],
      ['ACTION', 'bob', `bob to test ${format}`],
    ]);
    const log = readFileSync(m.files.find((f) => f.endsWith('.log.txt'))!, 'utf8');
    expect(log).toContain('* bob waves');
  });

  it("virtbot's own .log.txt: the date from the bot's Meeting started line, its lines are the bot's", async () => {
    const r = await replay({ logFile: join(DIR, 'virtbot.log.txt'), channel: '#kimchi', outDir: out() });
    expect([r.format, r.dateSource, r.botNick]).toEqual(['irssi', 'meeting-started', 'virtbot']);
    expect(r.unreadable).toEqual([]);
    const m = r.meetings[0]!;
    expect([m.start, m.end]).toEqual(['2014-04-16 22:59:00', '2014-04-17 00:04:00']);
    expect(m.people.map((p) => p.nick)).toEqual(['alice', 'bob']);
  });

  it('--tz: times without an offset are local time there', async () => {
    const r = await replay({
      logFile: join(DIR, 'irssi.log'),
      channel: '#kimchi',
      outDir: out(),
      tz: 'Europe/Paris',
    });
    const m = r.meetings[0]!;
    expect([m.start, m.end]).toEqual(['2014-04-16 20:59:00', '2014-04-16 22:04:00']);
    expect(m.files[0]).toContain('scrum.2014-04-16-20.59');
    await expect(
      replay({ logFile: join(DIR, 'irssi.log'), outDir: out(), tz: 'Mars/Olympus' }),
    ).rejects.toThrow("unknown time zone 'Mars/Olympus'");
  });

  it('--format forces a format: a log read as another is unreadable, not guessed', async () => {
    const r = await replay({
      logFile: join(DIR, 'weechat.log'),
      channel: '#kimchi',
      outDir: out(),
      format: 'irssi',
    });
    expect(r.format).toBe('irssi');
    expect(r.formatDetected).toBeNull();
    expect(r.meetings).toEqual([]);
    expect(r.unreadableCount).toBe(8);
  });

  it('detection picks each format on its own fixture', () => {
    for (const { file, format } of CASES) {
      const lines = readFileSync(join(DIR, file), 'utf8').split('\n');
      expect(detectFormat(lines).format.name, file).toBe(format);
    }
    expect(LOG_FORMATS.map((f) => f.name).sort()).toEqual(
      ['hexchat', 'irccloud', 'irssi', 'limnoria', 'quassel', 'virtbot', 'weechat', 'znc'].sort(),
    );
  });

  it('reads a line that is not UTF-8 as cp1252, and says so', async () => {
    const r = await replay({
      logFile: join(DIR, 'irssi-latin1.log'),
      channel: '#kimchi',
      outDir: out(),
      date: '2014-04-16',
    });
    expect(r.cp1252Lines).toBe(1);
    expect(r.meetings[0]!.items[0]!.text).toBe('café crème');
    expect(formatReplaySummary(r)).toContain(
      'warning: 1 line was not UTF-8 and was read as cp1252 (Latin-1): line 2',
    );
  });

  it('a log without any date says it used the mtime', async () => {
    const dir = out();
    const file = join(dir, 'nodate.log');
    writeFileSync(file, '10:00 <@alice> #startmeeting\n10:01 <@alice> #endmeeting\n');
    const r = await replay({ logFile: file, outDir: join(dir, 'out') });
    expect(r.dateSource).toBe('mtime');
    expect(formatReplaySummary(r)).toContain('warning: the log says no date: its times are taken as on');
  });
});

describe('virtbot replay (the CLI)', () => {
  const run = promisify(execFile);
  const cli = (...args: string[]) =>
    run(process.execPath, ['bin/virtbot.js', 'replay', ...args]).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  it('exits 0 with a meeting, 1 without one, and 1 under --strict with an unreadable line', async () => {
    const dir = out();
    const ok = await cli(join(DIR, 'limnoria.log'), '--out', dir, '--minutes-url', 'https://m.example.org');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('Format limnoria (detected');
    const minutes = readFileSync(join(dir, 'limnoria', '2014', 'scrum.2014-04-16-22.59.txt'), 'utf8');
    expect(minutes).toContain('https://m.example.org/limnoria/2014/scrum.2014-04-16-22.59.log.html');
    const chat = join(dir, 'chat.log');
    writeFileSync(chat, '10:00 < alice> just chatting\n');
    const none = await cli(chat, '--out', dir, '--date', '2014-01-01');
    expect(none.code).toBe(1);
    expect(none.out).toContain('No meeting found');
    const messy = join(dir, 'messy.log');
    writeFileSync(messy, '10:00 <@alice> #startmeeting\nnot a log line\n10:02 <@alice> #endmeeting\n');
    expect((await cli(messy, '--out', dir, '--date', '2014-01-01')).code).toBe(0);
    const strict = await cli(messy, '--out', dir, '--date', '2014-01-01', '--strict');
    expect(strict.code).toBe(1);
    expect(strict.out).toContain('--strict: 1 unreadable lines');
  });
});
