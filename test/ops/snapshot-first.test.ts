/**
 * The `snapshot-first` rule effect through the whole pipeline: the judge's obligation, the
 * snapshot taken after confirmation and before the command, and a failed snapshot stopping the
 * command with nothing done (a raw-disk VM, whose external snapshot libvirt's test driver
 * refuses). Trust runbook: test/transcripts/trust/ops-snapshot-first.chat.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { kindOrOutcome, startBot, type TestBot } from '../harness/bot.js';
import { PROD_NODE } from '../harness/example-config.js';

const input: ConfigInput = {
  hosts: [
    { name: 'lab', uri: 'test:///default' },
    { name: 'prod-1', uri: `test://${PROD_NODE}` },
  ],
  users: { alice: { roles: ['all'] } },
  roles: { all: { permissions: ['*'] } },
  rules: [
    { name: 'keep a way back', permission: 'vm.disk.remove', effect: 'snapshot-first' },
    { name: 'also before host info', permission: 'host.info', effect: 'snapshot-first' },
  ],
};

const RAW_VM = `<domain type='test'><name>rawvm</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/guest/raw.img'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>`;

describe('snapshot-first', () => {
  let t: TestBot | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('a snapshot that fails stops the command: nothing is removed, and the records say why', async () => {
    t = await startBot(input);
    await t.bot.hosts.get('lab').define(RAW_VM); // the setup; what is tested below goes through chat
    const answer = await t.confirmed('vm disk remove rawvm vda', 'alice', '#ops');
    expect(answer).toMatch(
      /^not run: rule 'keep a way back'.* asks for a snapshot of rawvm first, and it failed: /,
    );
    expect(await t.text('vm disk list rawvm', 'alice', '#ops')).toContain('vda');
    const records = (await t.records()).filter(
      (r) => r.vm === 'rawvm' && r.command.startsWith('vm disk remove'),
    );
    expect(records.map((r) => [r.path, kindOrOutcome(r)])).toEqual([
      ['vm.disk.remove', 'pending'],
      ['vm.disk.remove', 'intent'],
      ['vm.snapshot.create', 'failed'],
      ['vm.disk.remove', 'failed'],
    ]);
  });

  it('a command that acts on no VM cannot meet the rule and is not run', async () => {
    t = await startBot(input);
    expect(await t.text('host info lab', 'alice', '#ops')).toMatch(
      /^rule 'also before host info'.* asks for a snapshot before host info, but it acts on no existing VM: not run$/,
    );
  });

  it('permissions check tells of the snapshot, and the command gets one when it runs', async () => {
    t = await startBot(input);
    expect(await t.text('permissions check alice vm disk remove web-prod vda', 'alice', '#ops')).toContain(
      'takes a snapshot of the VM first',
    );
    const done = await t.confirmed('vm disk remove web-prod vda', 'alice', '#ops');
    expect(done).toMatch(/note: snapshot vb-before-vm-disk-remove-\d{8}t\d{6} of web-prod taken first/);
    expect(await t.text('vm snapshot list web-prod', 'alice', '#ops')).toMatch(
      /web-prod has 1 snapshot: vb-before/,
    );
  });
});
