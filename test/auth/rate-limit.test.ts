import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/auth/rate-limit.js';
import { makeTestBot, type TestBot } from '../security/bot.js';

let t: TestBot;
afterEach(async () => t?.close());

const limits = {
  rateLimits: {
    perIdentity: { count: 3, seconds: 60 },
    perChannel: { count: 5, seconds: 60 },
    exemptRoles: ['admin'],
  },
};

describe('rate limits', () => {
  it('refuses the command over the per-identity budget, records it as denied, and refills over time', async () => {
    t = await makeTestBot({ config: limits });
    for (let i = 0; i < 3; i++) expect(await t.text('alice', 'probe info web01')).toBe('ran probe info');
    const replies = await t.say('alice', 'probe info web01');
    expect(replies).toEqual([
      {
        text: 'rate limit: at most 3 commands per 60 s per person — try again in 20 s',
        kind: 'error',
        private: true,
      },
    ]);
    expect(t.runs).toHaveLength(3);
    expect((await t.records()).at(-1)).toMatchObject({
      user: 'alice',
      outcome: 'denied',
      command: 'probe info web01',
    });
    // Another person is not affected.
    expect(await t.text('bob', 'probe info web01')).toBe('ran probe info');
    t.clock.now = new Date(t.clock.now.getTime() + 20_000);
    expect(await t.text('alice', 'probe info web01')).toBe('ran probe info');
    expect(await t.text('alice', 'probe info web01')).toMatch(/^rate limit: .* per person/);
  });

  it('limits a channel as a whole, not other channels', async () => {
    t = await makeTestBot({ config: limits });
    for (const nick of ['alice', 'alice', 'bob', 'bob', 'carol']) await t.say(nick, 'probe info web01');
    expect(await t.text('carol', 'probe info web01')).toBe(
      'rate limit: at most 5 commands per 60 s in this channel — try again in 12 s',
    );
    expect(await t.text('carol', 'probe info web01', { channel: '#other' })).toBe('ran probe info');
    expect(t.runs).toHaveLength(6);
  });

  it('counts anything addressed to the bot, invalid or denied lines and confirmations included', async () => {
    t = await makeTestBot({ config: limits });
    await t.say('alice', 'probe info "web;01"');
    await t.say('alice', 'no such command');
    await t.say('alice', 'confirm ABCDEF');
    expect(await t.text('alice', 'confirm ABCDEF')).toMatch(/^rate limit:/);
  });

  it('exempts the configured roles: neither limited nor counted', async () => {
    t = await makeTestBot({ config: limits });
    for (let i = 0; i < 10; i++) expect(await t.text('dave', 'probe info web01')).toBe('ran probe info');
    expect(await t.text('alice', 'probe info web01')).toBe('ran probe info');
  });

  it('keys anonymous senders by hostmask, not by nick: a nick change does not reset the budget', async () => {
    t = await makeTestBot({ config: { ...limits, anonymous: { roles: ['viewer'] } } });
    const mask = (nick: string) => ({ sender: { local: false, hostmask: `${nick}!u@home.example` } });
    for (let i = 0; i < 3; i++) await t.say('guest', 'probe info web01', mask('guest'));
    // The hostmask includes the nick, so a new nick is a new key: the channel budget still applies.
    await t.say('guest2', 'probe info web01', mask('guest2'));
    await t.say('guest3', 'probe info web01', mask('guest3'));
    expect(await t.text('guest4', 'probe info web01', mask('guest4'))).toMatch(/in this channel/);
  });
});

describe('RateLimiter', () => {
  it('forgets idle keys, so memory follows the keys that are actually limited', () => {
    let now = 0;
    const limiter = new RateLimiter({ count: 2, seconds: 10 }, () => now);
    for (let i = 0; i < 20_000; i++) limiter.spend(`k${i}`);
    expect(limiter.size).toBe(20_000);
    now += 11_000;
    limiter.spend('fresh');
    expect(limiter.size).toBe(1);
    expect(limiter.check('fresh')).toEqual({ ok: true });
    limiter.spend('fresh');
    expect(limiter.check('fresh')).toEqual({ ok: false, retryAfterSeconds: 5 });
  });
});
