import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = 'test/transcripts';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.chat'))
  .sort();

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

/** `virtbot test ARGS…` through the real CLI, as CI runs it. */
async function virtbotTest(...args: string[]): Promise<Cli> {
  return run(process.execPath, ['bin/virtbot.js', 'test', ...args], { timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => name === 'testcase',
});

interface TestCase {
  name: string;
  time: string;
  failure?: { message: string; '#text': string };
  error?: { message: string; '#text': string };
}

function junitCases(report: string): { suites: Record<string, string>; cases: TestCase[] } {
  expect(XMLValidator.validate(report)).toBe(true);
  const doc = xml.parse(report) as {
    testsuites: Record<string, string> & { testsuite: { testcase: TestCase[] } };
  };
  return { suites: doc.testsuites, cases: doc.testsuites.testsuite.testcase };
}

function scratch(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'virtbot-chat-')), name);
  writeFileSync(path, text);
  return path;
}

/**
 * Every transcript in test/transcripts/ runs through the real CLI (`virtbot test`), as a team's
 * runbook would: all in one run, several at once, each with its own bot, data and test:/// state,
 * reported as JUnit XML.
 */
describe('transcripts', () => {
  let report: { suites: Record<string, string>; cases: TestCase[] };
  let exit: number;
  beforeAll(async () => {
    const result = await virtbotTest('--reporter', 'junit', dir);
    exit = result.code;
    report = junitCases(result.stdout);
  });

  it('there are transcripts to run, all of them in the report, each with its time', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(report.cases.map((c) => c.name)).toEqual(files.map((f) => join(dir, f)));
    for (const c of report.cases) expect(c.time).toMatch(/^\d+\.\d{3}$/);
    expect(report.suites['tests']).toBe(String(files.length));
  });

  it.each(files)('%s', (file) => {
    const found = report.cases.find((c) => c.name === join(dir, file));
    expect(found?.failure?.['#text'] ?? found?.error?.['#text']).toBeUndefined();
  });

  it('exits 0 when all pass', () => {
    expect(exit).toBe(0);
  });
});

describe('virtbot test itself', () => {
  it('fails on a mismatch with exit 1 and prints a readable diff', async () => {
    const result = await virtbotTest('test/fixtures/failing.chat');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "test/fixtures/failing.chat:4: expected a reply containing 'no such reply'",
    );
    expect(result.stdout).toContain('2| commands:');
    expect(result.stdout).toMatch(/FAIL test\/fixtures\/failing\.chat \(3 steps, \d+ ms\)/);
    expect(result.stdout).toContain('0 passed, 1 failed');
  });

  it('exits 2 for a file it cannot read or a line it cannot read, whatever else failed', async () => {
    const unreadable = await virtbotTest('test/fixtures/unreadable.chat');
    expect(unreadable.code).toBe(2);
    expect(unreadable.stdout).toContain(
      'test/fixtures/unreadable.chat:2: cannot read this line: alice said hello',
    );
    const missing = await virtbotTest('test/fixtures/failing.chat', 'test/fixtures/no-such.chat');
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('test/fixtures/no-such.chat: cannot read: ENOENT');
    expect(missing.stdout).toContain('0 passed, 1 failed, 1 unreadable');
  });

  it('reports failures and unreadable files as valid JUnit XML', async () => {
    const result = await virtbotTest(
      '--reporter',
      'junit',
      'test/fixtures/failing.chat',
      'test/fixtures/unreadable.chat',
      `${dir}/help.chat`,
    );
    expect(result.code).toBe(2);
    const { suites, cases } = junitCases(result.stdout);
    expect([suites['tests'], suites['failures'], suites['errors']]).toEqual(['3', '1', '1']);
    const [failing, unreadable, passing] = cases;
    expect(failing!.failure!.message).toBe("line 4: expected a reply containing 'no such reply'");
    expect(failing!.failure!['#text']).toContain('2| commands:');
    expect(unreadable!.error!.message).toContain('cannot read this line: alice said hello');
    expect(passing!.failure).toBeUndefined();
  });

  it('reports as TAP version 13', async () => {
    const result = await virtbotTest('--reporter', 'tap', `${dir}/help.chat`, 'test/fixtures/failing.chat');
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['TAP version 13', '1..2', `ok 1 - ${dir}/help.chat`]);
    expect(lines).toContain('not ok 2 - test/fixtures/failing.chat');
    expect(result.stdout).toMatch(/ {2}duration_ms: \d+/);
    expect(result.stdout).toContain(
      "        test/fixtures/failing.chat:4: expected a reply containing 'no such reply'",
    );
    expect(result.stdout).toContain('# 1 passed, 1 failed');
  });

  it('--update rewrites failing literal expectations from the replies, shows the diff, and leaves regexes alone', async () => {
    const before = [
      '; the replies changed their wording on purpose',
      '<alice> !vm info test',
      '>> test on test: up and running',
      '<alice> !vm stop test',
      '>> vm stop needs your confirmation',
      '>>> /^never said$/',
      '<alice> !confirm $CODE',
      '>> stopped test',
      '',
    ].join('\n');
    const file = scratch('changed.chat', before);
    const updated = await virtbotTest('--update', file);
    expect(updated.code).toBe(1); // the regex still fails: it is not rewritten
    expect(updated.stdout).toContain(
      `@@ ${file}:3 @@\n- >> test on test: up and running\n+ >> test on test: running,`,
    );
    expect(updated.stdout).toContain(
      `@@ ${file}:5 @@\n- >> vm stop needs your confirmation\n+ >> vm stop is destructive: type '!confirm $CODE' within 120 s to go ahead, or '!cancel $CODE'\n`,
    );
    expect(updated.stdout).toContain(`${file}:6: expected a reply matching /^never said$/`);
    const after = readFileSync(file, 'utf8').split('\n');
    expect(after[2]).toMatch(/^>> test on test: running, 2 vCPUs/);
    expect(after[5]).toBe('>>> /^never said$/');
    expect(after.filter((l, i) => l !== before.split('\n')[i])).toHaveLength(2);
    // Without the regex, the updated transcript passes as it is.
    writeFileSync(file, after.filter((l) => !l.startsWith('>>> /')).join('\n'));
    expect((await virtbotTest(file)).code).toBe(0);
  });

  it('--filter runs the transcripts whose name matches a substring or a glob', async () => {
    const one = await virtbotTest('--filter', 'two-codes', dir);
    expect(one.stdout).toMatch(
      /^ok test\/transcripts\/runbook-two-codes\.chat \(\d+ steps, \d+ ms\)\n1 passed/,
    );
    const glob = await virtbotTest('--filter', 'render-*', dir);
    expect(glob.stdout.match(/^ok .*$/gm)).toEqual([
      expect.stringContaining('render-discord.chat'),
      expect.stringContaining('render-irc.chat'),
    ]);
    const none = await virtbotTest('--filter', 'no-such-runbook', dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no transcript matches --filter 'no-such-runbook'");
  });

  it('runs files at once, each with its own bot and test:/// state', async () => {
    const text = [
      '<alice> !vm create web01 template=debian12',
      '>> created web01',
      '<alice> !vm list',
      '>> 2 VMs on test',
    ].join('\n');
    const a = scratch('a.chat', text);
    const b = scratch('b.chat', text);
    const result = await virtbotTest('--jobs', '2', a, b);
    expect(result.stdout).toContain('2 passed, 0 failed');
    expect(result.code).toBe(0);
  });

  it('refuses an unknown reporter', async () => {
    const result = await virtbotTest('--reporter', 'xml', `${dir}/help.chat`);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--reporter is one of pretty, tap, junit');
  });
});

describe('README, "Transcript tests"', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.split('## Transcript tests')[1]!.split('\n## ')[0]!;
  const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)]
    .filter((m) => m[1] === '')
    .map((m) => m[2]!);
  const chats = [dir, `${dir}/trust`, 'test/fixtures'].flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.chat'))
      .map((f) => readFileSync(join(d, f), 'utf8')),
  );

  it('shows transcripts', () => {
    expect(blocks.length).toBeGreaterThan(6);
  });

  it.each(blocks.map((block, i) => [i + 1, block] as const))(
    'example %i is part of a transcript that runs',
    (_i, block) => {
      expect(chats.some((chat) => chat.includes(block))).toBe(true);
    },
  );
});
