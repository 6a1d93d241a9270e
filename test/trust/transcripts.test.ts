/**
 * The trust runbooks in test/transcripts/trust/: each runs through the whole pipeline (the
 * transcript transport: addressing, identity, parse … record, reply) on config/example.yaml's
 * users, roles and rules over two hosts — `lab` (test:///default: VM `test`) and `prod-1`
 * (VMs `web-prod`, `db-prod`) — with a fixture account database on the hosts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { People } from '../../src/testing/people.js';
import { readTranscript, runTranscript } from '../../src/testing/transcript.js';
import { startBot, type TestBot } from '../harness/bot.js';
import { exampleConfig } from '../harness/example-config.js';
import { hostsWithAccounts } from '../harness/host-accounts.js';

const dir = 'test/transcripts/trust';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.chat'))
  .sort();

describe('trust runbooks on the example config', () => {
  let bot: TestBot | undefined;
  afterEach(async () => {
    await bot?.close();
    bot = undefined;
  });

  it('there are runbooks', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)('%s', async (file) => {
    const input = exampleConfig();
    bot = await startBot(input, { hosts: hostsWithAccounts(input), meetings: true });
    const { header, steps } = readTranscript(readFileSync(join(dir, file), 'utf8'), file);
    // A runbook's own `; user` / `; role` headers go on top of the example's.
    const people = new People(header.people, header.transport);
    bot.bot.reload(people.apply(bot.config, header));
    const result = await runTranscript(steps, {
      handler: bot.bot.handle,
      place: header.place,
      transport: header.transport,
      people,
      botNick: bot.config.bot.nick,
      prefix: bot.config.bot.prefix,
      observe: (event) => bot?.bot.observe(event),
    });
    const report = result.failures.map((f) => `${file}:${f.line}: ${f.message}`).join('\n');
    expect(result.failures, report).toEqual([]);
  });
});
