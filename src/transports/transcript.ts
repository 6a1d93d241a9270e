/**
 * Moved: the transcript runner is a test runner, not a transport; it lives in src/testing/.
 * This re-export keeps the importers that are not migrated yet compiling (src/transports/console.ts
 * for `replyLines`, test/core/transcript.test.ts); delete it once they import from there.
 */
export * from '../testing/transcript.js';
