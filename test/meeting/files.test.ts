/** Files that outlive the meeting: no overwrites, the network in the path, JSON minutes, index pages, carried-over actions. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonMinutes } from '../../src/meeting/json.js';
import { harness, PLACE_KEY } from './helpers.js';
import { minutesSchema, validate } from './schema.js';

const DIR = (h: { minutesDir: string }) => join(h.minutesDir, 'virt', '2024');

describe('collision-safe files', () => {
  it('a second meeting started in the same minute gets -2 and says where its files are', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    await h.say('bob', '#info first meeting');
    await h.say('alice', '#endmeeting');
    await h.say('alice', '#startmeeting');
    await h.say('bob', '#info second meeting');
    const end = await h.texts('alice', '#endmeeting');
    expect(end[1]).toBe(
      'Minutes:        https://meetings.example.org/virt/2024/virt.2024-01-15-10.00-2.html',
    );
    expect(readFileSync(join(DIR(h), 'virt.2024-01-15-10.00.txt'), 'utf8')).toContain('first meeting');
    expect(readFileSync(join(DIR(h), 'virt.2024-01-15-10.00-2.txt'), 'utf8')).toContain('second meeting');
  });

  it('#save and #endmeeting of one meeting write the same files; a restart keeps the claimed name', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting');
    await h.say('alice', '#endmeeting');
    await h.say('alice', '#startmeeting');
    expect((await h.texts('alice', '#save'))[0]).toContain('virt.2024-01-15-10.00-2.html');
    h.restart();
    expect((await h.texts('alice', '#endmeeting'))[1]).toContain('virt.2024-01-15-10.00-2.html');
    expect(
      readdirSync(DIR(h))
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(['virt.2024-01-15-10.00-2.json', 'virt.2024-01-15-10.00.json']);
  });

  it('puts the network in the path when asked (more than one network configured)', async () => {
    const h = harness({ networkInPath: true });
    await h.say('alice', '#startmeeting');
    const end = await h.texts('alice', '#endmeeting');
    expect(end[1]).toBe(
      'Minutes:        https://meetings.example.org/libera/virt/2024/virt.2024-01-15-10.00.html',
    );
    expect(existsSync(join(h.minutesDir, 'libera', 'virt', '2024', 'virt.2024-01-15-10.00.json'))).toBe(true);
    expect(existsSync(join(h.minutesDir, 'libera', 'virt', 'index.html'))).toBe(true);
  });
});

describe('JSON minutes', () => {
  it('validate against the schema in docs/MINUTES.md', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting Release');
    await h.say('alice', '#topic Status');
    await h.say('bob', '#info 1.0 is tagged');
    await h.say('bob', '#action alice to announce it');
    await h.manager.recordOperation(
      PLACE_KEY,
      {
        id: '1',
        time: new Date(h.now()).toISOString(),
        transport: 'irc',
        network: 'libera',
        channel: '#virt',
        user: 'bob',
        nick: 'bob',
        proof: 'irc-account',
        command: 'vm start web01',
        outcome: 'ok',
        detail: 'started',
      },
      'bob: vm start web01 → ok: started',
    );
    await h.say('alice', '#nick dana');
    await h.say('alice', '#endmeeting');
    const json = JSON.parse(
      readFileSync(join(DIR(h), 'release.2024-01-15-10.00.json'), 'utf8'),
    ) as JsonMinutes;
    expect(validate(minutesSchema(), json)).toEqual([]);
    expect(json.actions).toEqual([
      expect.objectContaining({
        id: 1,
        text: 'alice to announce it',
        by: 'bob',
        assignees: ['alice'],
        status: 'open',
      }),
    ]);
    expect(json.items.map((i) => [i.type, i.topic, i.outcome ?? null])).toEqual([
      ['INFO', 'Status', null],
      ['ACTION', 'Status', null],
      ['OPERATION', 'Status', 'ok'],
    ]);
    expect(json.named).toEqual(['dana']);
    // A broken file does not validate (the checker can fail).
    expect(validate(minutesSchema(), { ...json, endedBy: 'magic', extra: 1 })).toHaveLength(2);
  });
});

describe('carried-over action items and the index across two meetings', () => {
  it('lists the last meeting’s open actions at #startmeeting, closes one with #done, shows both in the index', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting Week 1');
    await h.say('bob', '#action bob to fix the build');
    await h.say('bob', '#action alice to write the notes');
    await h.say('alice', '#endmeeting');
    // The next meeting, a week later.
    const next = await h.manager.observe(
      {
        place: { transport: 'irc', network: 'libera', channel: '#virt', private: false },
        sender: { nick: 'alice' },
        text: '#startmeeting Week 2',
        time: new Date(Date.UTC(2024, 0, 22, 10, 0, 0)),
        addressed: false,
      },
      { user: null, groups: [], roles: [], proof: 'anonymous', nick: 'alice' },
    );
    const texts = next.replies.map((r) => r.text);
    expect(texts).toContain(
      "Open action items from the last meeting (#virt: Week 1, 2024-01-15), '#done N' closes one:",
    );
    expect(texts).toContain('1. bob to fix the build (bob)');
    expect(texts).toContain('2. alice to write the notes (bob)');
    expect(await h.texts('bob', '#action done 1')).toEqual(['Closed action item 1: bob to fix the build']);
    expect((await h.texts('bob', '#done 7'))[0]).toBe(
      'bob: there is no carried-over action item 7 (open: 2).',
    );
    await h.say('alice', '#endmeeting');
    const dir = join(h.minutesDir, 'virt', '2024');
    const txt = readFileSync(join(dir, 'week_2.2024-01-22-10.00.txt'), 'utf8');
    expect(txt).toContain('Action items carried over');
    expect(txt).toContain('1. bob to fix the build (bob, 2024-01-15) — done (closed by bob)');
    expect(txt).toContain('2. alice to write the notes (bob, 2024-01-15) — still open');
    const json = JSON.parse(readFileSync(join(dir, 'week_2.2024-01-22-10.00.json'), 'utf8')) as JsonMinutes;
    expect(json.carriedOver.map((c) => [c.id, c.status])).toEqual([
      [1, 'done'],
      [2, 'open'],
    ]);
    const index = readFileSync(join(h.minutesDir, 'virt', 'index.html'), 'utf8');
    expect(index).toContain('href="2024/week_2.2024-01-22-10.00.html"');
    expect(index).toContain('href="2024/week_1.2024-01-15-10.00.html"');
    expect(index.indexOf('Week 2')).toBeLessThan(index.indexOf('Week 1'));
    const root = readFileSync(join(h.minutesDir, 'index.html'), 'utf8');
    expect(root).toContain('href="virt/2024/week_1.2024-01-15-10.00.html"');
  });
});
