/**
 * The raw log is a faithful record: people's lines as typed (prefix and all), and the bot's lines
 * only as sent — nothing private, nothing the server refused, no operation line nobody said.
 */
import { describe, expect, it } from 'vitest';
import type { AuditRecord, InboundMessage } from '../../src/core/types.js';
import { ANONYMOUS, harness, minutesBase, PLACE, PLACE_KEY, T0 } from './helpers.js';

const at = (s: number) => new Date(T0 + s * 1000);

describe('the verbatim log', () => {
  it('logs !vm nic add as typed, the bot’s real reply, and no private or refused line', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    const command: InboundMessage = {
      place: PLACE,
      sender: { nick: 'alice' },
      text: 'vm nic add web01 network=default',
      said: '!vm nic add web01 network=default',
      time: at(10),
      addressed: true,
    };
    const r = await h.manager.observe(command, ANONYMOUS('alice'));
    expect(r.handled).toBe(false);
    const record: AuditRecord = {
      id: '1',
      time: at(10).toISOString(),
      transport: 'irc',
      network: 'libera',
      channel: '#virt',
      user: 'alice',
      nick: 'alice',
      proof: 'irc-account',
      command: 'vm nic add web01 network=default',
      outcome: 'ok',
      detail: 'added NIC 52:54:00:aa:bb:cc in config, from the next boot',
    };
    await h.manager.recordOperation(
      PLACE_KEY,
      record,
      'alice: vm nic add web01 network=default → ok: added NIC',
    );
    // What the transport really sent in the channel…
    h.manager.onEvent({
      type: 'sent',
      place: PLACE,
      text: 'added NIC 52:54:00:aa:bb:cc in config, from the next boot',
      time: at(11),
    });
    // …a denial sent privately to mallory (another place), and a line the server refused under +m.
    h.manager.onEvent({
      type: 'sent',
      place: { ...PLACE, channel: 'mallory', private: true },
      text: 'denied: vm.destroy',
      time: at(12),
    });
    h.manager.onEvent({
      type: 'refused',
      place: PLACE,
      text: 'you are not voiced',
      reason: '404 cannot send to channel',
      time: at(13),
    });
    // Someone says something through a mention.
    await h.manager.observe(
      {
        place: PLACE,
        sender: { nick: 'bob' },
        text: '#info via a mention',
        said: 'virtbot: #info via a mention',
        time: at(14),
        addressed: true,
      },
      ANONYMOUS('bob'),
    );
    await h.manager.observe(
      { place: PLACE, sender: { nick: 'alice' }, text: '#endmeeting', time: at(15), addressed: false },
      ANONYMOUS('alice'),
    );
    const log = h
      .read(minutesBase(h) + '.log.txt')
      .split('\n')
      .filter(Boolean);
    expect(log.filter((l) => !l.includes('> Meeting started') && !l.includes('> Useful Commands'))).toEqual([
      '10:00:01 <alice> #startmeeting',
      '10:00:10 <alice> !vm nic add web01 network=default',
      '10:00:11 <virtbot> added NIC 52:54:00:aa:bb:cc in config, from the next boot',
      '10:00:14 <bob> virtbot: #info via a mention',
      '10:00:15 <alice> #endmeeting',
    ]);
    const txt = h.read(minutesBase(h) + '.txt').replace(/\s+/g, ' ');
    expect(txt).toContain('OPERATION (ok): alice: vm nic add web01 network=default → ok: added NIC');
    expect(txt).toContain('INFO: via a mention');
    // The operation's item points at the line that asked for it.
    expect(h.read(minutesBase(h) + '.html')).toContain('href="virt.2024-01-15-10.00.log.html#l-4"');
  });

  it('the bot’s lines carry its current nick', async () => {
    const h = harness();
    h.manager.onEvent({
      type: 'nick',
      transport: 'irc',
      network: 'libera',
      from: 'virtbot',
      to: 'virtbot_',
      time: at(0),
    });
    await h.say('alice', '#startmeeting');
    await h.say('alice', '#endmeeting');
    const log = h.read(minutesBase(h) + '.log.txt');
    expect(log).toContain('<virtbot_> Meeting started');
    expect(log).not.toContain('<virtbot> ');
  });
});
