/**
 * Through the whole pipeline on libvirt's test driver: the answer to `vm start` is lost (the
 * connection drops after the command was sent) while libvirt goes on carrying it out. virtbot
 * looks again for a while before it calls the start not done, and when it cannot look at all the
 * outcome is recorded as unknown — never as a failure that did not happen, nor as done.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { HostRegistry } from '../../src/libvirt/hosts.js';
import { VirshConnectionError } from '../../src/libvirt/virsh-shell.js';
import { kindOrOutcome, startBot, type TestBot } from '../harness/bot.js';

const config = {
  hosts: [
    { name: 'lab', uri: 'test:///default' },
    { name: 'lab2', uri: 'test:///default' },
  ],
  users: { alice: { roles: ['ops'] } },
  roles: { ops: { permissions: ['vm.*'] } },
};

type Run = HostRegistry['get'] extends (name: string) => infer H
  ? H extends { backend: { shell: { run: infer R } } }
    ? R
    : never
  : never;

describe('a start whose answer is lost', () => {
  let t: TestBot | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** A bot whose host 'lab' loses the answer to `start`, having `sent` it or not. */
  async function botLosing(effect: 'starts-later' | 'never-sent', checks: 'work' | 'fail') {
    const hosts = new HostRegistry({ hosts: config.hosts });
    t = await startBot(config, { hosts });
    expect(await t.confirmed('vm stop test host=lab', 'alice')).toBe('stopped test (forced off)');
    const shell = hosts.get('lab').backend.shell;
    const send: Run = shell.run.bind(shell);
    let lost = false;
    shell.run = ((command, args, options) => {
      if (command === 'start' && !lost) {
        lost = true;
        // libvirt got it and finishes a moment after the answer was lost.
        if (effect === 'starts-later') setTimeout(() => void send(command, args, options), 1200);
        return Promise.reject(
          new VirshConnectionError(
            'virsh on lab lost its connection while running `start`: outcome unknown',
            'start',
          ),
        );
      }
      if (lost && checks === 'fail' && command === 'dominfo')
        return Promise.reject(
          new VirshConnectionError('virsh on lab is reconnecting: outcome unknown', command),
        );
      return send(command, args, options);
    }) as Run;
    return t;
  }

  test('a start libvirt finishes after the loss is found done, not called "not done"', async () => {
    const bot = await botLosing('starts-later', 'work');
    expect(await bot.text('vm start test host=lab', 'alice')).toBe(
      'started test (the connection dropped mid-way; checked afterwards: done)',
    );
    expect(await bot.text('vm info test host=lab', 'alice')).toMatch(/^test on lab: running/);
    const start = (await bot.records()).filter((r) => r.path === 'vm.start');
    expect(start.map(kindOrOutcome)).toEqual(['intent', 'ok']);
  }, 30_000);

  test('a start that never happened is not done once the window has passed', async () => {
    const bot = await botLosing('never-sent', 'work');
    const reply = await bot.text('vm start test host=lab', 'alice');
    expect(reply).toMatch(/^vm start failed: .*checked afterwards for 10 s: not done$/);
    expect(await bot.text('vm info test host=lab', 'alice')).toMatch(/^test on lab: shut off/);
    expect((await bot.records()).filter((r) => r.path === 'vm.start').map(kindOrOutcome)).toEqual([
      'intent',
      'failed',
    ]);
  }, 30_000);

  test('when virtbot cannot look either, the outcome is recorded as unknown', async () => {
    const bot = await botLosing('never-sent', 'fail');
    const reply = await bot.text('vm start test host=lab', 'alice');
    expect(reply).toBe(
      "vm start: outcome unknown (the connection dropped while starting the VM; looking afterwards failed too); see 'vm info' or 'history' before trying again",
    );
    const start = (await bot.records()).filter((r) => r.path === 'vm.start');
    expect(start.map(kindOrOutcome)).toEqual(['intent', 'unknown']);
    expect(start[1]!.intent).toBe(start[0]!.id);
  }, 30_000);
});
