import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { allGroups } from '../commands/index.js';
import { commandReference } from '../src/command/docs.js';
import { CommandRegistry } from '../src/command/registry.js';

describe('docs/COMMANDS.md', () => {
  it('is what the declarations generate (run `node bin/virtbot.js docs --out docs/COMMANDS.md`)', async () => {
    const committed = await readFile('docs/COMMANDS.md', 'utf8');
    expect(committed).toBe(commandReference(new CommandRegistry(allGroups())));
  });
});

describe('README', () => {
  it('shows the transcript that test/transcripts/readme-example.chat runs', async () => {
    const readme = await readFile('README.md', 'utf8');
    const example = readme.split('## Transcript tests')[1]!.split('```')[1]!.trim();
    const transcript = await readFile('test/transcripts/readme-example.chat', 'utf8');
    expect(transcript).toContain(example);
  });
});
