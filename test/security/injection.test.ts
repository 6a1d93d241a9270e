/**
 * Hostile values in every kind of argument, through the whole pipeline on real test hosts
 * (./bot.ts): a clear one-line error, nothing run, an 'invalid' record — or, for a value that is
 * a plain word after all, a refusal by the target stage (no such VM, not one of the host's pools
 * or bridges) or a body that gets only plain words. And for what does pass validation, virsh
 * reads back exactly what was typed.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindTokens } from '../../src/command/bind.js';
import { tokenize } from '../../src/grammar/tokenize.js';
import { quoteVirshArg, VirshArgError } from '../../src/libvirt/virsh-quote.js';
import { auditInMemory } from '../harness/bot.js';
import { makeTestBot, type TestBot } from './bot.js';
import { HOSTILE } from './hostile.js';

let t: TestBot;
beforeAll(async () => {
  t = await makeTestBot();
  // In memory: this suite is about what gets through, not about the disk.
  auditInMemory(t.bot, (record) => recorded.push(record));
});
afterAll(async () => t.close());
const recorded: { outcome: string; user: string | null }[] = [];

/** Double-quoted so that the token's value is exactly `value`. */
const q = (value: string) => `"${value.replace(/[\\"]/g, '\\$&')}"`;

/** A plain word that is a legal name: not hostile for a name slot. */
const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const UNSAFE_IN_REPLY = /[\u0000-\u0008\u000a-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

const SLOTS: [string, (h: string) => string][] = [
  ['VM name', (h) => `probe info ${q(h)}`],
  ['VM name (unquoted, inside)', (h) => `probe info web${h}01`],
  ['network name', (h) => `probe net ${q(h)}`],
  ['network option', (h) => `probe nic web01 network=${q(h)}`],
  ['user name', (h) => `probe account ${q(h)}`],
  ['user names', (h) => `probe users add web01 alice ${q(h)}`],
  ['MAC', (h) => `probe nic web01 mac=${q(`52:54:00:12:34:${h}`)}`],
  ['bridge', (h) => `probe nic web01 bridge=${q(h)}`],
  ['pool', (h) => `probe disk web01 pool=${q(h)}`],
  ['host', (h) => `probe info web01 host=${q(h)}`],
  ['size', (h) => `probe create new01 memory=${q(`2${h}`)}`],
  ['int', (h) => `probe create new01 vcpus=${q(`2${h}`)}`],
  ['code', (h) => `confirm ${q(`AB${h}`)}`],
];

const cases = SLOTS.flatMap(([slot, line]) =>
  HOSTILE.filter((h) => !PLAIN.test(h)).map((h) => ({ slot, h, line: line(h) })),
);

/** What reached a command body: every name-like value is a plain word, whatever was typed. */
const SAFE_VALUE = /^[A-Za-z0-9_][A-Za-z0-9_.+:-]*$/;

/** The arguments `line` binds to, by the binder alone (independently of the pipeline), or undefined. */
function bound(line: string): Record<string, unknown> | undefined {
  try {
    const tokens = tokenize(line);
    const { spec, consumed } = t.bot.commands.resolve(tokens);
    return bindTokens(spec, tokens.slice(consumed), {
      hostNames: t.bot.hosts.names(),
      now: () => t.clock.now,
    });
  } catch {
    return undefined;
  }
}

/** Whatever got through: every name-like value a plain word. */
function plainValues(args: Record<string, unknown>, problems: string[], what: string): void {
  for (const [key, value] of Object.entries(args)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values)
      if (typeof v === 'string' && !SAFE_VALUE.test(v)) problems.push(`${key}=${JSON.stringify(v)} ${what}`);
  }
}

/** Refusals after binding: the target stage's (where the VM is, the host's pools and bridges). */
const LOCATED =
  /^(no VM '[^']+' on any host|there is a VM '[^']+' on |.* is not inside a storage pool of host |host \S+ lists no bridges|bridge \S+ is not one host )/;

async function attack(line: string): Promise<string[]> {
  t.runs.length = 0;
  // A minute between attacks: the wrong-code limit (5 a minute) must not hide what a code slot does.
  t.clock.now = new Date(t.clock.now.getTime() + 61_000);
  const before = recorded.length;
  const replies = await t.say('alice', line);
  const text = replies.map((r) => r.text).join('\n');
  const problems: string[] = [];
  if (replies.length !== 1) problems.push(`${replies.length} replies`);
  if (text.length > 400) problems.push(`reply of ${text.length} characters`);
  if (recorded.length !== before + 1) problems.push('not recorded');
  if (t.runs.length > 0) {
    // It validated: then what the body got must be harmless.
    for (const run of t.runs) plainValues(run.args, problems, 'reached the body');
  } else if (LOCATED.test(text) || text.startsWith('no pending command has code')) {
    // It bound, and was refused on what the value names: then the value must be a plain word.
    const args = bound(line);
    if (!args) problems.push('refused after binding, but does not bind');
    else plainValues(args, problems, 'was bound');
    if (replies[0]?.kind !== 'error') problems.push(`kind ${replies[0]?.kind}`);
    if (!['invalid', 'failed', 'denied'].includes(recorded.at(-1)?.outcome ?? ''))
      problems.push(`recorded as ${recorded.at(-1)?.outcome}`);
  } else {
    if (replies[0]?.kind !== 'error') problems.push(`kind ${replies[0]?.kind}`);
    if (
      !/(not a valid|is not a|unknown host|unknown option|unexpected|cannot read|too long|needs a value|out of range|too small|too large)/.test(
        text,
      )
    )
      problems.push('no clear reason');
    if (recorded.at(-1)?.outcome !== 'invalid') problems.push(`recorded as ${recorded.at(-1)?.outcome}`);
  }
  return problems.length > 0
    ? [`${JSON.stringify(line.slice(0, 60))}: ${problems.join('; ')} — ${JSON.stringify(text.slice(0, 160))}`]
    : [];
}

describe('injection', () => {
  it.each(SLOTS)(
    '%s: hostile values are refused with one clear line, or reach the body only as plain words',
    async (slot, build) => {
      const failures: string[] = [];
      for (const h of HOSTILE.filter((v) => !PLAIN.test(v))) failures.push(...(await attack(build(h))));
      expect(failures, slot).toEqual([]);
    },
  );

  // Errors quote the bad token (src/grammar/show.ts) with controls, colour codes and bidi masked.
  it('never echoes control or bidi characters, or a whole 10 000-character word, in a reply', async () => {
    const echoed: string[] = [];
    for (const [, build] of SLOTS) {
      for (const h of HOSTILE.filter((v) => UNSAFE_IN_REPLY.test(v))) {
        const text = (await t.say('alice', build(h))).map((r) => r.text).join(' ');
        if (UNSAFE_IN_REPLY.test(text)) echoed.push(JSON.stringify(text.slice(0, 80)));
      }
    }
    for (const word of ['pro\u0003be info web01', 'a'.repeat(10_000)]) {
      const text = (await t.say('alice', word)).map((r) => r.text).join(' ');
      if (UNSAFE_IN_REPLY.test(text) || text.length > 400) echoed.push(JSON.stringify(text.slice(0, 80)));
    }
    expect(echoed).toEqual([]);
  });

  it(`covers ${cases.length} hostile lines`, () => expect(cases.length).toBeGreaterThan(500));

  it('refuses a 10 000-character value in every slot with a short reply', async () => {
    const long = 'a'.repeat(10_000);
    t.runs.length = 0;
    for (const [, build] of SLOTS) {
      const replies = await t.say('alice', build(long));
      expect(replies).toHaveLength(1);
      expect(replies[0]!.kind).toBe('error');
      expect(replies[0]!.text.length).toBeLessThan(400);
    }
    expect(t.runs).toEqual([]);
  });

  it('keeps free text and paths exactly as typed (the backend quotes them), and refuses controls and ..', async () => {
    const pool = '/var/lib/libvirt/images';
    for (const h of ['$(reboot)', '`id`', '; virsh destroy test', ']]>', '<x>&amp;"', "it's"]) {
      t.runs.length = 0;
      expect(await t.text('alice', `probe note ${q(h)}`)).toBe('ran probe note');
      expect(t.runs[0]!.args['text']).toBe(h);
      t.runs.length = 0;
      expect(await t.text('alice', `probe disk web01 path=${q(`${pool}/${h}`)}`)).toBe('ran probe disk');
      expect(t.runs[0]).toMatchObject({ args: { path: `${pool}/${h}` }, host: 'test', vm: 'web01' });
    }
    t.runs.length = 0;
    for (const bad of [
      '/var/../etc/shadow',
      `${pool}/../../../etc/shadow`,
      `${pool}/a\nb`,
      `${pool}/\u0003x`,
      'relative/path',
      '/'.repeat(5000),
    ]) {
      const [reply] = await t.say('alice', `probe disk web01 path=${q(bad)}`);
      expect(reply!.kind, bad).toBe('error');
      expect(recorded.at(-1)!.outcome, bad).toBe('invalid');
    }
    expect(t.runs).toEqual([]);
  });

  it("refuses paths outside the bound host's pools, and bridges it does not list, to everyone", async () => {
    t.runs.length = 0;
    for (const who of ['alice', 'dave']) {
      for (const path of [
        '/etc/shadow',
        '/dev/sda',
        '/var/lib/libvirt/images2/x.img',
        '/var/lib/libvirt',
        '/var/lib/libvirt//images/x.img',
        // prod-1's pool, named on a VM of host test.
        '/prod-pool/x.img',
      ]) {
        const [reply] = await t.say(who, `probe disk web01 path=${q(path)}`);
        expect(reply, `${who} ${path}`).toMatchObject({
          kind: 'error',
          text: `denied: ${path} is not inside a storage pool of host test: only pool volumes and the host's listed paths may be used (hosts[].paths in the config)`,
        });
        expect(recorded.at(-1)!.outcome).toBe('denied');
      }
      expect(await t.text(who, 'probe disk db01 path=/prod-pool/x.img')).toBe('ran probe disk');
      expect(await t.text(who, 'probe disk db01 path=/var/lib/libvirt/images/x.img')).toMatch(
        /is not inside a storage pool of host prod-1/,
      );
      expect(await t.text(who, 'probe nic web01 bridge=virbr0')).toBe(
        'denied: bridge virbr0 is not one host test lets VMs use (br0)',
      );
      expect(await t.text(who, 'probe nic db01 bridge=br0')).toBe(
        'denied: host prod-1 lists no bridges VMs may use (hosts[].bridges in the config): use network=',
      );
    }
    expect(t.runs.map((r) => `${r.user} ${r.path} ${r.host}`)).toEqual([
      'alice probe.disk prod-1',
      'dave probe.disk prod-1',
    ]);
  });
});

describe('virsh quoting of what passes validation', () => {
  const values = [...HOSTILE, '/var/lib/$(reboot)', "/isos/it's; rm -rf /.iso", '-- --force', '#comment'];

  it('refuses controls and overlong values, and virsh reads every other value back exactly', () => {
    const sendable: string[] = [];
    for (const value of values) {
      try {
        quoteVirshArg(value);
        sendable.push(value);
      } catch (error) {
        expect(error).toBeInstanceOf(VirshArgError);
        expect(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value) || value.length > 8192).toBe(true);
      }
    }
    expect(sendable.length).toBeGreaterThan(40);
    const input = sendable
      .flatMap((value, i) => [`echo -- 'MARK${i}'`, `echo -- ${quoteVirshArg(value)}`])
      .join('\n');
    const result = spawnSync('virsh', ['-q', '-c', 'test:///default'], {
      input: `${input}\nquit\n`,
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    // Non-interactive virsh echoes each command after its prompt; the output follows on the next line.
    const out = result.stdout
      .split('virsh # ')
      .slice(1)
      .map((chunk) => chunk.slice(chunk.indexOf('\n') + 1).replace(/\n$/, ''));
    sendable.forEach((value, i) => {
      expect(out[2 * i], `marker ${i}`).toBe(`MARK${i}`);
      // (A lone surrogate cannot be written as UTF-8 at all: it arrives as U+FFFD, still one literal argument.)
      expect(out[2 * i + 1], JSON.stringify(value)).toBe(Buffer.from(value, 'utf8').toString('utf8'));
    });
  });
});
