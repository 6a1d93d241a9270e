/**
 * A transcript's `/regex/` is written by whoever writes the runbook, and a careless one such as
 * `/(a+)+$/` backtracks for minutes on a long bot line: the run would hang instead of failing.
 * Each match runs in a separate V8 context with a time limit, so a runaway regex becomes one
 * failure naming it. The context is made once and its regexes are compiled once, because a
 * transcript matches many lines.
 */
import vm from 'node:vm';

/** How long one regex may take on one bot line. */
export const REGEX_LIMIT_MS = 1000;

export class RegexTimeoutError extends Error {
  constructor(readonly pattern: RegExp) {
    super(
      `the regex ${String(pattern)} took more than ${REGEX_LIMIT_MS / 1000} s on one bot line (it backtracks without end); make it more specific`,
    );
    this.name = 'RegexTimeoutError';
  }
}

const sandbox = vm.createContext({ cache: {}, source: '', flags: '', line: '' });
const test = new vm.Script('(cache[flags + "/" + source] ??= new RegExp(source, flags)).test(line)', {
  filename: 'transcript-regex',
});

/** `pattern.test(line)`, or RegexTimeoutError once it has run for `limitMs`. */
export function boundedTest(pattern: RegExp, line: string, limitMs = REGEX_LIMIT_MS): boolean {
  // Without g or y a RegExp keeps no state between tests, so the compiled copy behaves the same.
  Object.assign(sandbox, { source: pattern.source, flags: pattern.flags, line });
  try {
    return test.runInContext(sandbox, { timeout: limitMs }) === true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
      throw new RegexTimeoutError(pattern);
    throw error;
  }
}
