/**
 * A full disk through the whole pipeline: dataDir on a small real tmpfs, filled up. Commands that
 * change a host are refused before the host is touched (the host is checked afterwards), every
 * queued command is answered, and once space is back the same command runs and is recorded.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fill, IS_ROOT, type Mounted, mountTmpfs, ROOT_REASON } from '../audit/mounts.js';
import { startBot, type TestBot } from '../harness/bot.js';

describe.skipIf(!IS_ROOT)(`a full disk under the audit log${ROOT_REASON}`, () => {
  let mount: Mounted;
  let t: TestBot;
  beforeEach(async () => {
    mount = await mountTmpfs(400);
    t = await startBot({
      bot: { dataDir: mount.dir },
      audit: { file: join(mount.dir, 'audit.jsonl'), minFreeBytes: 64 * 1024 },
      hosts: [{ name: 'lab', uri: 'test:///default' }],
      users: { alice: { roles: ['admin'] } },
      roles: { admin: { permissions: ['*'] } },
    });
  });
  afterEach(async () => {
    await t.bot.close();
    await mount.unmount();
  });

  const macs = async () =>
    (await t.bot.hosts.get('lab').domain('test', { inactive: true })).nics.map((n) => n.mac);

  it('refuses changes before the host is touched, answers everyone, and recovers by itself', async () => {
    expect(await t.text('vm info test', 'alice')).toContain('test on lab: running');
    const before = await macs();
    await fill(join(mount.dir, 'ballast'));

    const added = await t.text('vm nic add test network=default mac=52:54:00:0f:0f:01', 'alice');
    expect(added).toMatch(/^refused: .*so it was not run/);
    const stop = await t.say('vm stop test', 'alice');
    const code = stop.find((r) => r.confirmCode)?.confirmCode;
    if (code !== undefined)
      expect(await t.text(`confirm ${code}`, 'alice')).toMatch(/^refused: |cannot be written/);
    // Many at once: each gets its one-line answer, none is lost in a retry loop.
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        t.text(
          `vm nic add test network=default mac=52:54:00:0f:1f:${i.toString(16).padStart(2, '0')}`,
          'alice',
        ),
      ),
    );
    for (const answer of answers) expect(answer).toMatch(/^refused: |cannot be written/);
    // Nothing reached the host.
    expect(await macs()).toEqual(before);
    expect(await t.bot.hosts.get('lab').domainState('test')).toBe('running');

    await rm(join(mount.dir, 'ballast'));
    expect(await t.text('vm nic add test network=default mac=52:54:00:0f:0f:01', 'alice')).toContain(
      'added NIC 52:54:00:0f:0f:01',
    );
    const records = await t.records();
    const outcome = records.find((r) => r.kind === 'outcome' && r.path === 'vm.nic.add');
    expect(outcome).toMatchObject({ outcome: 'ok' });
    expect(records.find((r) => r.id === outcome!.intent)).toMatchObject({ kind: 'intent' });
  });
});
