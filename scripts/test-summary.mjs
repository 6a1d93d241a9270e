// Prints vitest's JSON results as one closing line that any CI can read: "tests: N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-results.json';
let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`no test results in ${file}: ${error.message}`);
  process.exit(1);
}
const skipped = results.numPendingTests + results.numTodoTests;
for (const suite of results.testResults ?? []) {
  for (const test of suite.assertionResults ?? []) {
    if (test.status === 'skipped' || test.status === 'pending') console.log(`skipped: ${test.fullName}`);
  }
}
console.log(`tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`);
process.exit(results.numFailedTests === 0 && results.numTotalTests > 0 ? 0 : 1);
