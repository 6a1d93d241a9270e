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
