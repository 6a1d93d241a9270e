import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { channelFromFileName, formatReplaySummary, replay } from '../../src/meeting/replay.js';

function tmp(name: string, text: string): { file: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'virtbot-replay-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return { file, out: join(dir, 'out') };
}

describe('replay: log formats', () => {
  it('reads [HH:MM] and [HH:MM:SS] lines, <@op>/<+voice> nicks, /me lines; reports what it cannot read', async () => {
    const { file, out } = tmp(
      'team.log',
      [
        '--- Log opened Tue Mar 05 09:58:00 2024',
        '[09:58] -!- alice [~a@host] has joined #team',
        '[09:59] <@alice> #startmeeting',
        '[09:59] <meetbot> Meeting started Tue Mar  5 09:59:00 2024 UTC.  The chair is alice. Information about MeetBot at http://wiki.debian.org/MeetBot.',
        '[10:00:05] <+bob> #info bob fixed the build',
        '[10:01] * carol waves',
        '* bob nods',
        '',
        'this line is nobody speaking',
        '10:02 alice said something without brackets',
        '[10:03] <alice> #action bob to write the release notes',
        '[10:04] <meetbot> Current chairs: alice',
        '[10:05] <alice> #endmeeting',
        '[10:06] <bob> after the meeting',
      ].join('\n'),
    );
    const r = await replay({ logFile: file, channel: 'team', outDir: out });
    expect(r.channel).toBe('#team');
    expect(r.botNick).toBe('meetbot');
    expect(r.date).toBe('2024-03-05');
    expect(r.lines).toBe(14);
    expect(r.skipped).toBe(2);
    expect(r.unreadable).toEqual([
      { line: 9, text: 'this line is nobody speaking' },
      { line: 10, text: '10:02 alice said something without brackets' },
    ]);
    const m = r.meetings[0]!;
    expect(m.people).toEqual([
      { nick: 'alice', count: 3 },
      { nick: 'bob', count: 2 },
      { nick: 'carol', count: 1 },
    ]);
    expect(m.items).toEqual([
      { type: 'INFO', text: 'bob fixed the build', nick: 'bob', time: '10:00:05', topic: null },
      {
        type: 'ACTION',
        text: 'bob to write the release notes',
        nick: 'alice',
        time: '10:03:00',
        topic: null,
      },
    ]);
    expect(m.start).toBe('2024-03-05 09:59:00');
    expect(m.end).toBe('2024-03-05 10:05:00');
    const log = readFileSync(r.files.find((f) => f.endsWith('.log.txt'))!, 'utf8');
    expect(log).toContain('10:01:00 * carol waves\n10:01:00 * bob nods\n');
    expect(log).toContain('10:04:00 <meetbot> Current chairs: alice');
    expect(log).not.toContain('after the meeting');
    const summary = formatReplaySummary(r);
    expect(summary).toContain('Unreadable lines (2):');
    expect(summary).toContain('  line 9: "this line is nobody speaking"');
    expect(summary).toContain('  line 10: "10:02 alice said something without brackets"');
  });

  it('takes the date from --date, then the file name, then the mtime; crosses midnight', async () => {
    const lines = [
      '23:59:58 <alice> #startmeeting',
      '23:59:59 <bob> #info late',
      '00:00:01 <bob> #info early',
      '00:00:02 <alice> #endmeeting',
    ];
    const a = tmp('x.txt', lines.join('\n'));
    const r1 = await replay({ logFile: a.file, outDir: a.out, date: '2020-02-28' });
    expect([r1.date, r1.dateSource]).toEqual(['2020-02-28', 'option']);
    expect(r1.meetings[0]!.start).toBe('2020-02-28 23:59:58');
    expect(r1.meetings[0]!.end).toBe('2020-02-29 00:00:02');
    expect(r1.meetings[0]!.items.map((i) => i.time)).toEqual(['23:59:59', '00:00:01']);
    expect(r1.botNick).toBe('virtbot');
    const b = tmp('ops.2019-07-01-12.00.log.txt', lines.join('\n'));
    const r2 = await replay({ logFile: b.file, outDir: b.out });
    expect([r2.date, r2.dateSource, r2.channel]).toEqual(['2019-07-01', 'file-name', '#ops']);
    const c = tmp('plain.txt', lines.join('\n'));
    utimesSync(c.file, new Date('2018-05-06T12:00:00Z'), new Date('2018-05-06T12:00:00Z'));
    const r3 = await replay({ logFile: c.file, outDir: c.out });
    expect([r3.date, r3.dateSource]).toEqual(['2018-05-06', 'mtime']);
    expect(r3.files[0]).toContain(join('plain', '2018', 'plain.2018-05-06-23.59'));
  });

  it('closes a meeting the log never ended, and says so', async () => {
    const { file, out } = tmp('open.txt', '10:00:00 <alice> #startmeeting\n10:00:01 <bob> #info dangling\n');
    const r = await replay({ logFile: file, outDir: out, date: '2024-01-01' });
    expect(r.meetings[0]!.unterminated).toBe(true);
    expect(r.meetings[0]!.end).toBe('2024-01-01 10:00:01');
    expect(r.files).toHaveLength(6);
    expect(formatReplaySummary(r)).toContain('(no #endmeeting: closed at the last line)');
  });

  it('says when there is no meeting at all', async () => {
    const { file, out } = tmp('chat.txt', '10:00:00 <alice> hello\n');
    const r = await replay({ logFile: file, outDir: out, date: '2024-01-01' });
    expect(r.files).toEqual([]);
    expect(formatReplaySummary(r)).toContain('No meeting found: the log has no #startmeeting line.');
  });

  it('guesses the channel from the file name', () => {
    expect(channelFromFileName('/x/kimchi-scrum-2014-04-16.txt')).toBe('#kimchi-scrum');
    expect(channelFromFileName('openstack-meeting.2014-04-16-13.01.log.txt')).toBe('#openstack-meeting');
    expect(channelFromFileName('weekly.log')).toBe('#weekly');
  });
});

describe('replay: a large log', () => {
  // Speed and memory are the benchmark's to measure (bench/); tests never assert on timings.
  it('replays 100 001 lines completely', async () => {
    const nicks = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const parts: string[] = ['00:00:00 <alice> #startmeeting'];
    for (let i = 1; i < 100_000; i++) {
      const s = Math.floor(i / 2);
      const t = `${String(Math.floor(s / 3600) % 24).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
      const nick = nicks[i % nicks.length]!;
      const text =
        i % 50 === 0
          ? `#info item ${i} about https://example.org/${i}`
          : i % 997 === 0
            ? `#topic Topic ${i}`
            : `line ${i} with some ordinary chat text about the release and <tags> & things`;
      parts.push(`${t} <${nick}> ${text}`);
    }
    parts.push('23:59:59 <alice> #endmeeting');
    const { file, out } = tmp('big-2024-01-01.txt', parts.join('\n') + '\n');
    const r = await replay({ logFile: file, outDir: out });
    expect(r.lines).toBe(100_001);
    expect(r.unreadableCount).toBe(0);
    expect(r.meetings[0]!.lines).toBe(100_001);
    expect(r.meetings[0]!.people.reduce((n, p) => n + p.count, 0)).toBe(100_001);
  });
  it('reads a file with a BOM, CRLF ends, multi-byte text across read blocks, a huge line and no final newline', async () => {
    const long = 'é'.repeat(200_000); // 400 000 bytes: longer than one read block
    const filler = Array.from({ length: 30_000 }, (_, i) => `13:00:00 <carol> ünïcödé ✓ ${i}`);
    const lines = [
      '13:00:00 <alice> #startmeeting',
      ...filler,
      `13:00:01 <bob> ${long}`,
      '13:00:02 <alice> #info ✓ done',
      '13:00:03 <alice> last words',
    ];
    const { file, out } = tmp('enc-2024-03-05.txt', `\ufeff${lines.join('\r\n')}`);
    const r = await replay({ logFile: file, outDir: out });
    expect(r.lines).toBe(lines.length);
    expect(r.unreadableCount).toBe(0);
    expect(r.messages).toBe(lines.length);
    const m = r.meetings[0]!;
    expect(m.unterminated).toBe(true);
    expect(m.people).toEqual([
      { nick: 'carol', count: 30_000 },
      { nick: 'alice', count: 3 },
      { nick: 'bob', count: 1 },
    ]);
    expect(m.items).toEqual([{ type: 'INFO', text: '✓ done', nick: 'alice', time: '13:00:02', topic: null }]);
    const logTxt = readFileSync(m.files.find((f) => f.endsWith('.log.txt'))!, 'utf8');
    expect(logTxt).toBe(`${lines.join('\n')}\n`);
  });
});
