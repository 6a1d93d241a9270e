/**
 * How `virtbot test` reports: `pretty` for people (the default), `tap` (TAP version 13) and
 * `junit` (JUnit XML, as CI servers read it). A reporter gives text at the start, for each file
 * in the order given (as soon as it is known), and at the end.
 */
import { type FileOutcome, outputLines } from './suite.js';

export type ReporterName = 'pretty' | 'tap' | 'junit';
export const REPORTERS: readonly ReporterName[] = ['pretty', 'tap', 'junit'];

export interface Reporter {
  start(count: number): string;
  file(outcome: FileOutcome, index: number): string;
  end(outcomes: readonly FileOutcome[], ms: number): string;
}

export function reporter(name: ReporterName, options: { verbose?: boolean } = {}): Reporter {
  if (name === 'tap') return tap;
  if (name === 'junit') return junit;
  return pretty(options.verbose === true);
}

/** `N passed, N failed[, N unreadable]`. */
export function summary(outcomes: readonly FileOutcome[]): string {
  const count = (status: FileOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  const unreadable = count('unreadable');
  return `${count('passed')} passed, ${count('failed')} failed${unreadable > 0 ? `, ${unreadable} unreadable` : ''}`;
}

function failureLines(outcome: FileOutcome): string[] {
  if (outcome.error !== undefined) return [visible(outcome.error)];
  return outcome.failures.map((f) => visible(`${outcome.file}:${f.line}: ${f.message}`));
}

function pretty(verbose: boolean): Reporter {
  return {
    start: () => '',
    file(outcome) {
      const took = `${outcome.ms} ms`;
      const rewritten = outcome.changes.length > 0 ? `, ${outcome.changes.length} expectations updated` : '';
      const lines =
        outcome.status === 'passed'
          ? [`ok ${outcome.file} (${outcome.steps} steps${rewritten}, ${took})`]
          : outcome.status === 'unreadable'
            ? [`UNREADABLE ${outcome.file} (${took})`, ...failureLines(outcome).map((l) => `  ${l}`)]
            : [
                `FAIL ${outcome.file} (${outcome.steps} steps${rewritten}, ${took})`,
                ...failureLines(outcome).map((l) => `  ${l}`),
              ];
      if (verbose) lines.push(...outputLines(outcome).map((l) => `  ${visible(l)}`));
      return `${lines.join('\n')}\n`;
    },
    end: (outcomes, ms) => `${summary(outcomes)} (${ms} ms)\n`,
  };
}

/** A YAML block scalar of `text`, indented by `indent` spaces. */
function yamlBlock(text: string, indent: number): string {
  const pad = ' '.repeat(indent);
  return `|-\n${text
    .split('\n')
    .map((l) => `${pad}${l}`)
    .join('\n')}`;
}

const tap: Reporter = {
  start: (count) => `TAP version 13\n1..${count}\n`,
  file(outcome, index) {
    const ok = outcome.status === 'passed';
    const lines = [
      `${ok ? 'ok' : 'not ok'} ${index + 1} - ${outcome.file}`,
      '  ---',
      `  duration_ms: ${outcome.ms}`,
    ];
    if (!ok) {
      lines.push(`  status: ${outcome.status}`, '  failures:');
      for (const failure of failureLines(outcome)) lines.push(`    - ${yamlBlock(failure, 8)}`);
    }
    lines.push('  ...');
    return `${lines.join('\n')}\n`;
  },
  end: (outcomes, ms) => `# ${summary(outcomes)}\n# time ${ms} ms\n`,
};

/**
 * Control characters (IRC formatting, NUL, escape sequences), lone surrogates and non-characters
 * shown as `\xNN`: what the bot said stays readable, and no report carries bytes its reader
 * chokes on (XML 1.0 cannot hold them at all).
 */
export function visible(text: string): string {
  return text.replace(/[^\t\n\x20-\x7e\xa0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, (ch) => {
    const code = ch.codePointAt(0)!;
    return `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/** Text as XML character data (or an attribute value). */
export function xmlText(text: string): string {
  return visible(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

const junit: Reporter = {
  start: () => '',
  file: () => '',
  end(outcomes, ms) {
    const failures = outcomes.filter((o) => o.status === 'failed').length;
    const errors = outcomes.filter((o) => o.status === 'unreadable').length;
    const counts = `tests="${outcomes.length}" failures="${failures}" errors="${errors}" time="${seconds(ms)}"`;
    const cases = outcomes.map((o) => {
      const attrs = `name="${xmlText(o.file)}" classname="virtbot.transcripts" file="${xmlText(o.file)}" time="${seconds(o.ms)}"`;
      if (o.status === 'passed') return `    <testcase ${attrs}/>`;
      const details = failureLines(o).join('\n\n');
      const first = (o.error ?? o.failures[0]?.message ?? '').split('\n')[0]!;
      const line = o.failures[0] ? `line ${o.failures[0].line}: ` : '';
      const element = o.status === 'unreadable' ? 'error' : 'failure';
      const type = o.status === 'unreadable' ? 'unreadable' : 'expectation';
      return [
        `    <testcase ${attrs}>`,
        `      <${element} message="${xmlText(line + first)}" type="${type}">${xmlText(details)}</${element}>`,
        `      <system-out>${xmlText(outputLines(o).join('\n'))}</system-out>`,
        '    </testcase>',
      ].join('\n');
    });
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites name="virtbot test" ${counts}>`,
      `  <testsuite name="transcripts" ${counts} skipped="0" timestamp="${new Date().toISOString()}">`,
      ...cases,
      '  </testsuite>',
      '</testsuites>',
      '',
    ].join('\n');
  },
};
