/**
 * Command rate limits through the whole pipeline on real test hosts (test/security/bot.ts): per
 * person, per place, counting every addressed line before it is even parsed, exempting the
 * configured roles; and the token bucket itself.
 */
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

  it('limits a channel as a whole, not other channels; a private conversation is a place too', async () => {
    t = await makeTestBot({ config: limits });
    for (const nick of ['alice', 'alice', 'bob', 'bob', 'carol']) await t.say(nick, 'probe info web01');
    expect(await t.text('carol', 'probe info web01')).toBe(
      'rate limit: at most 5 commands per 60 s in this channel — try again in 12 s',
    );
    expect(await t.text('carol', 'probe info web01', { channel: '#other' })).toBe('ran probe info');
    expect(t.runs).toHaveLength(6);
    const inPrivate = { place: { private: true, channel: 'alice' } };
    expect(await t.text('alice', 'probe info web01', inPrivate)).toBe('ran probe info');
    expect(await t.text('alice', 'probe info web01', inPrivate)).toMatch(/^rate limit: .* per person/);
  });

  it('says "conversation" for a private place over its budget', async () => {
    t = await makeTestBot({
      config: { rateLimits: { perChannel: { count: 2, seconds: 60 }, exemptRoles: [] } },
    });
    const inPrivate = { place: { private: true, channel: 'alice' } };
    await t.say('alice', 'probe info web01', inPrivate);
    await t.say('alice', 'probe info web01', inPrivate);
    expect(await t.text('alice', 'probe info web01', inPrivate)).toBe(
      'rate limit: at most 2 commands per 60 s in this conversation — try again in 30 s',
    );
  });

  it('counts anything addressed to the bot, invalid or denied lines and confirmations included', async () => {
    t = await makeTestBot({ config: limits });
    await t.say('alice', 'probe info "web;01"');
    await t.say('alice', 'no such command');
    await t.say('alice', 'confirm ABCDEF');
    expect(await t.text('alice', 'confirm ABCDEF')).toMatch(/^rate limit:/);
    const other = { channel: '#other' };
    expect(await t.text('bob', 'probe info nope', other)).toBe("no VM 'nope' on any host (test, prod-1)");
    await t.say('bob', 'probe start web01', other);
    await t.say('bob', 'help', other);
    expect(await t.text('bob', 'probe info web01', other)).toMatch(/^rate limit: .* per person/);
    // A refused line is not parsed: even a well-formed command is only counted, never run.
    expect(t.runs).toEqual([]);
  });

  it('does not count chatter', async () => {
    t = await makeTestBot({ config: limits });
    for (let i = 0; i < 10; i++)
      expect(await t.say('alice', 'probe info web01', { addressed: false })).toEqual([]);
    expect(await t.text('alice', 'probe info web01')).toBe('ran probe info');
  });

  it('exempts the configured roles: neither limited nor counted, however the role is held', async () => {
    t = await makeTestBot({
      config: {
        ...limits,
        groups: {
          devs: { members: ['frank'], system: 'developers' },
          admins: { members: ['erin'], roles: ['admin'] },
        },
      },
    });
    for (let i = 0; i < 10; i++) expect(await t.text('dave', 'probe info web01')).toBe('ran probe info');
    for (let i = 0; i < 10; i++) expect(await t.text('erin', 'probe info web01')).toBe('ran probe info');
    expect(await t.text('alice', 'probe info web01')).toBe('ran probe info');
    // A nick of an exempt user proves nothing: an unproven 'dave' is limited.
    const unproven = { sender: { local: false, hostmask: 'dave!x@elsewhere.example' } };
    for (let i = 0; i < 3; i++) await t.say('dave', 'help', unproven);
    expect(await t.text('dave', 'help', unproven)).toMatch(/^rate limit: .* per person/);
  });

  it('keys anonymous senders by hostmask, not by nick: a new nick still meets the channel budget', async () => {
    t = await makeTestBot({ config: { ...limits, anonymous: { roles: ['viewer'] } } });
    const mask = (nick: string) => ({ sender: { local: false, hostmask: `${nick}!u@home.example` } });
    for (let i = 0; i < 3; i++) await t.say('guest', 'probe info web01', mask('guest'));
    expect(await t.text('guest', 'probe info web01', mask('guest'))).toMatch(/per person/);
    // The hostmask includes the nick, so a new nick is a new key: the channel budget still applies.
    await t.say('guest2', 'probe info web01', mask('guest2'));
    await t.say('guest3', 'probe info web01', mask('guest3'));
    expect(await t.text('guest4', 'probe info web01', mask('guest4'))).toMatch(/in this channel/);
  });

  it('keys unregistered IRC accounts by account: a nick change does not reset the budget', async () => {
    t = await makeTestBot({ config: { ...limits, anonymous: { roles: ['viewer'] } } });
    const account = { sender: { local: false, account: 'drifter' } };
    for (const nick of ['a1', 'a2', 'a3']) await t.say(nick, 'probe info web01', account);
    expect(await t.text('a4', 'probe info web01', account)).toMatch(/per person/);
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
