/**
 * Chairs are people, not names: proven identities (services account, Discord id, configured
 * user) where there is one, nicks followed across nick changes otherwise.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Identity, InboundMessage, Place, Sender } from '../../src/core/types.js';
import { MeetingManager, personKey } from '../../src/meeting/manager.js';
import { ANONYMOUS, harness, minutesBase, PLACE_KEY, T0 } from './helpers.js';

describe('person keys', () => {
  const irc: Place = { transport: 'irc', network: 'libera', channel: '#virt', private: false };
  it('prefers the configured user, then the services account, then the Discord id', () => {
    const user: Identity = { user: 'alice', groups: [], roles: [], proof: 'irc-account', nick: 'al' };
    expect(personKey(irc, { nick: 'al', account: 'Alice' }, user)).toBe('user:alice');
    expect(personKey(irc, { nick: 'al', account: 'Alice' }, ANONYMOUS('al'))).toBe('account:libera:alice');
    expect(personKey(irc, { nick: 'al', userId: '42' }, ANONYMOUS('al'))).toBe('discord:42');
    expect(personKey(irc, { nick: 'al' }, ANONYMOUS('al'))).toBeUndefined();
  });
});

describe('nick changes (IRC NICK events)', () => {
  it('a chair who reconnects as alice_ keeps the chair through the NICK, and is one person in the minutes', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    await h.say('alice', '#topic Before');
    h.manager.onEvent({
      type: 'nick',
      transport: 'irc',
      network: 'libera',
      from: 'alice',
      to: 'alice_',
      time: new Date(h.now()),
    });
    expect(await h.texts('alice_', '#topic After')).toEqual(['Current topic: After']);
    expect(await h.texts('alice_', '#chair bob')).toEqual(['Current chairs: alice_ bob']);
    // Someone else taking the old nick is not the chair.
    expect((await h.texts('alice', '#endmeeting'))[0]).toContain(
      'only the chairs can use #endmeeting (chairs: alice_, bob)',
    );
    await h.say('alice_', '#action alice to write it up');
    await h.say('alice_', '#endmeeting');
    const txt = h.read(minutesBase(h) + '.txt');
    expect(txt).toContain('* alice / alice_ (6)');
    expect(txt).toContain('* alice (1)');
    // The action names her old nick: it is still hers (by any of her nicks).
    expect(txt).toMatch(/Action items, by person\n-+\n\* alice\n {2}\* alice to write it up\n/);
  });

  it('a NICK on another network changes nothing here', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    h.manager.onEvent({
      type: 'nick',
      transport: 'irc',
      network: 'oftc',
      from: 'alice',
      to: 'alice_',
      time: new Date(h.now()),
    });
    expect((await h.texts('alice_', '#topic x'))[0]).toContain('only the chairs');
  });

  it('a NICK is journaled: after a restart alice_ is still the chair', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    h.manager.onEvent({
      type: 'nick',
      transport: 'irc',
      network: 'libera',
      from: 'alice',
      to: 'alice_',
      time: new Date(h.now()),
    });
    h.restart();
    expect(await h.texts('alice_', '#topic After the restart')).toEqual(['Current topic: After the restart']);
  });

  it('a chair named before speaking becomes whoever first speaks under that nick, and is an action candidate', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    await h.say('alice', '#chair carol');
    await h.say('alice', '#action carol to book the room');
    await h.say('alice', '#endmeeting');
    const txt = h.read(minutesBase(h) + '.txt');
    expect(txt).toMatch(/\* carol\n {2}\* carol to book the room/);
    expect(txt).not.toContain('* carol (');
  });
});

/** A manager fed the way the pipeline feeds it, with explicit senders and identities. */
function live(place: Place) {
  const dir = mkdtempSync(join(tmpdir(), 'virtbot-people-'));
  const manager = new MeetingManager({
    dataDir: join(dir, 'data'),
    minutesDir: join(dir, 'minutes'),
    botNick: 'virtbot',
    fsync: false,
  });
  let t = T0;
  const say = async (sender: Sender, text: string, identity: Identity = ANONYMOUS(sender.nick)) => {
    t += 1000;
    const msg: InboundMessage = { place, sender, text, time: new Date(t), addressed: false };
    return (await manager.observe(msg, identity)).replies.map((r) => r.text);
  };
  return { dir, manager, say };
}

describe('Discord: people by user id, channels by name', () => {
  const place: Place = {
    transport: 'discord',
    network: 'kimchi',
    channel: '112233445566778899',
    label: 'kimchi-ops',
    networkLabel: 'Kimchi Project',
    private: false,
  };

  it('a second account with the chair’s server nickname is not the chair, and the minutes keep them apart', async () => {
    const { dir, say } = live(place);
    expect((await say({ nick: 'alice', userId: '1001' }, '#startmeeting'))[0]).toContain(
      'The chair is alice.',
    );
    // Another account sets its server nickname to 'alice'.
    expect((await say({ nick: 'alice', userId: '2002' }, '#topic hijacked'))[0]).toContain(
      'only the chairs can use #topic',
    );
    expect((await say({ nick: 'alice', userId: '2002' }, '#endmeeting'))[0]).toContain(
      'only the chairs can use #endmeeting',
    );
    await say({ nick: 'alice', userId: '1001' }, '#info the real alice');
    const end = await say({ nick: 'alice', userId: '1001' }, '#endmeeting');
    expect(end[0]).toMatch(/^Meeting ended/);
    // Titles and paths use the channel's name, not its id.
    const base = join(dir, 'minutes', 'kimchi-ops', '2024', 'kimchi-ops.2024-01-15-10.00');
    expect(end[1]).toBe(`Minutes:        ${base}.html`);
    const txt = readFileSync(`${base}.txt`, 'utf8');
    expect(txt).toContain('#kimchi-ops Meeting');
    expect(txt).not.toContain('112233445566778899');
    expect(txt).toContain('* alice [Discord id 1001] (3)');
    expect(txt).toContain('* alice [Discord id 2002] (2)');
  });

  it('a services account carries the chair across a reconnect without a NICK event', async () => {
    const irc: Place = { transport: 'irc', network: 'libera', channel: '#virt', private: false };
    const { manager, say } = live(irc);
    await say({ nick: 'alice', account: 'alice' }, '#startmeeting');
    // Reconnected as alice_ (quit and join, no NICK): the account is the same.
    expect(await say({ nick: 'alice_', account: 'alice' }, '#topic Back')).toEqual(['Current topic: Back']);
    expect((await say({ nick: 'alice' }, '#topic impostor'))[0]).toContain('only the chairs');
    expect(manager.meeting(PLACE_KEY)?.chairList()).toEqual(['alice_']);
  });
});
