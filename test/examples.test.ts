import { describe, expect, it } from 'vitest';
import { allGroups } from '../commands/index.js';
import type { Example } from '../src/command/spec.js';
import { demoConfig } from '../src/config/demo.js';
import { exampleTranscript } from '../src/testing/examples.js';
import { runText } from '../src/testing/suite.js';

/**
 * Sopel-style examples-as-tests: every example in every command declaration runs as a transcript
 * (who says it, where, on which transport: its flags) through the whole pipeline, on a fresh
 * embedded default (host 'test' on test:///default), and must give the reply it documents.
 */
const cases = allGroups().flatMap((group) =>
  group.commands.flatMap((spec) =>
    spec.examples.map((example) => ({ name: `${spec.path.join(' ')}: ${example.input}`, example })),
  ),
);

describe('command examples', () => {
  it('every command declares at least one example', () => {
    const missing = allGroups().flatMap((g) =>
      g.commands.filter((c) => c.examples.length === 0).map((c) => c.path.join(' ')),
    );
    expect(missing).toEqual([]);
  });

  it('flags become the transcript’s person, place and transport', () => {
    const text = exampleTranscript(
      { input: 'vm stop test', reply: 'is destructive', as: 'admin', place: '#ops', transport: 'irc' },
      '!',
    );
    expect(text).toBe(
      [
        '; place: #ops',
        '; transport: irc',
        '; user admin roles=admin',
        '; role admin permissions=*',
        '<admin> !vm stop test',
        '>> is destructive',
        '',
      ].join('\n'),
    );
    expect(exampleTranscript({ input: 'help', reply: '/etc/x/', place: 'private' }, '!')).toBe(
      '; place: private\n<alice> help\n>> /\\/etc\\/x\\//\n',
    );
  });

  const check = (example: Example) =>
    runText(exampleTranscript(example, '!'), 'example.chat', {
      configFor: async (_file, dataDir) => demoConfig(dataDir),
    });

  it('an example whose reply is not what its people see fails', async () => {
    // On IRC the prompt says '!confirm', and there are no buttons.
    const wording = await check({ input: 'vm stop test', reply: "type 'confirm", transport: 'irc' });
    expect(wording.status).toBe('failed');
    const buttons = await check({ input: 'vm stop test', reply: '[Confirm]', transport: 'irc' });
    expect(buttons.status).toBe('failed');
  });

  it.each(cases)('$name', async ({ example }) => {
    const transcript = exampleTranscript(example, '!');
    const outcome = await check(example);
    const report = [outcome.error, ...outcome.failures.map((f) => f.message)].filter(Boolean).join('\n');
    expect(outcome.status, `${transcript}\n${report}`).toBe('passed');
  });
});
