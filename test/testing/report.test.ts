/**
 * The reports of `virtbot test`: JUnit XML stays valid XML whatever the bot said, and TAP's
 * diagnostics are YAML.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { reporter } from '../../src/testing/report.js';
import type { FileOutcome } from '../../src/testing/suite.js';

const hostile = 'bold \x02text\x0f, a NUL \x00, a lone \ud800 surrogate, ]]> & <tag attr="x"> \u{1F600}';
const outcome = (status: FileOutcome['status'], extra: Partial<FileOutcome> = {}): FileOutcome => ({
  file: `t/${status}.chat`,
  status,
  steps: 3,
  failures: status === 'failed' ? [{ line: 2, message: `expected a reply containing '${hostile}'` }] : [],
  ms: 1234,
  output: [{ text: hostile, network: '', where: '#test', delivery: 'message', message: 0, cause: 1 }],
  place: { channel: '#test', private: false },
  changes: [],
  ...extra,
});
const all = [
  outcome('passed'),
  outcome('failed'),
  outcome('unreadable', { error: `t/u.chat:1: ${hostile}` }),
];

describe('JUnit report', () => {
  it('is valid XML that keeps what the bot said readable, with control characters shown as \\xNN', () => {
    const text = reporter('junit').end(all, 4321);
    expect(XMLValidator.validate(text)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(text);
    const suite = doc.testsuites.testsuite;
    expect([suite.tests, suite.failures, suite.errors, suite.time]).toEqual(['3', '1', '1', '4.321']);
    const [, failed, unreadable] = suite.testcase;
    expect(failed.time).toBe('1.234');
    expect(failed.failure.message).toBe(
      'line 2: expected a reply containing \'bold \\x02text\\x0f, a NUL \\x00, a lone \\xd800 surrogate, ]]> & <tag attr="x"> \u{1F600}\'',
    );
    expect(failed['system-out']).toContain('1| bold \\x02text');
    expect(unreadable.error.type).toBe('unreadable');
  });
});

describe('TAP report', () => {
  it('numbers the files and gives each a YAML block with its duration and failures', () => {
    const tap = reporter('tap');
    const text = tap.start(3) + all.map((o, i) => tap.file(o, i)).join('') + tap.end(all, 10);
    expect(text.split('\n').slice(0, 3)).toEqual(['TAP version 13', '1..3', 'ok 1 - t/passed.chat']);
    const blocks = [...text.matchAll(/^ {2}---\n([\s\S]*?)^ {2}\.\.\.$/gm)].map((m) => parse(m[1]!));
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toEqual({ duration_ms: 1234 });
    expect(blocks[1].status).toBe('failed');
    expect(blocks[1].failures[0]).toContain("t/failed.chat:2: expected a reply containing 'bold");
    expect(blocks[2].failures[0]).toContain('t/u.chat:1:');
    expect(text).not.toMatch(/[\x00\x02\ud800]/);
    expect(text).toContain('a NUL \\x00');
  });
});
