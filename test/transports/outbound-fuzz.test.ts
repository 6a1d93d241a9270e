/**
 * Whatever a reply carries — VM names, libvirt errors, a person's words echoed back — goes out
 * through each transport's one renderer as text: no control character reaches IRC or the
 * terminal, nothing invisible that changes how text reads, no Markdown or mention on Discord,
 * `allowed_mentions` on every Discord message, and IRC lines within 512 bytes.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Reply } from '../../src/core/types.js';
import { renderConsole } from '../../src/transports/console.js';
import { renderDiscord } from '../../src/transports/discord-render.js';
import { renderIrc } from '../../src/transports/irc-render.js';
import { isInertDiscordText } from '../../src/transports/sanitize.js';
import { HOSTILE } from '../security/hostile.js';

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const nasty = fc.oneof(
  fc.constantFrom(
    ...HOSTILE,
    "cannot judge '\u0001DCC SEND y\u0001\u001b[2J\u0007'",
    '@everyone',
    '@here',
    '<@&123456789012345678>',
    '<@123456789012345678>',
    '<#123456789012345678>',
    '**bold**',
    '||spoiler||',
    '# heading',
    '> quote',
    '-# small',
    '[link](https://evil.example)',
    '\u202egnp.exe',
    'zero\u200bwidth',
    '\ud800',
    '```',
    '\u0003' + '04red',
  ),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
);
const text = fc.array(nasty, { minLength: 0, maxLength: 4 }).map((parts) => parts.join(' '));
const reply: fc.Arbitrary<Reply> = fc.record(
  {
    text,
    kind: fc.constantFrom('reply' as const, 'error' as const, 'confirm' as const, 'meeting' as const),
    lines: fc.array(text, { maxLength: 6 }),
    private: fc.boolean(),
    confirmCode: fc.stringMatching(/^[A-Z0-9]{4,8}$/),
    card: fc.record({
      title: text,
      fields: fc.array(fc.record({ name: text, value: text }), { maxLength: 4 }),
    }),
  },
  { requiredKeys: ['text', 'kind'] },
);
const unit = fc.array(reply, { minLength: 1, maxLength: 5 });

describe('outbound text through every renderer', () => {
  test('IRC: plain lines within the byte budget', () => {
    fc.assert(
      fc.property(unit, fc.boolean(), (replies, direct) => {
        const out = renderIrc(replies, {
          direct,
          nick: 'alice',
          limits: { channelLines: 4, privateLines: 20 },
          width: 400,
        });
        for (const line of [...out.here, ...out.privately]) {
          expect(line).not.toMatch(CONTROL);
          expect(line).not.toMatch(INVISIBLE);
          expect(line).not.toMatch(LONE_SURROGATE);
          expect(Buffer.byteLength(line)).toBeLessThanOrEqual(400);
        }
        expect(out.here.length).toBeLessThanOrEqual(direct ? 20 : 4);
        expect(out.privately.length).toBeLessThanOrEqual(20);
      }),
      { numRuns: 400 },
    );
  });

  test('Discord: inert text, embeds and buttons, allowed_mentions everywhere', () => {
    fc.assert(
      fc.property(unit, fc.boolean(), (replies, direct) => {
        const out = renderDiscord(replies, {
          direct,
          limits: { channelLines: 10, privateLines: 50 },
          maxMessages: 3,
          requesterId: '300000000000000001',
        });
        for (const m of [...out.here, ...out.privately]) {
          expect(m.allowedMentions.parse).toEqual([]);
          expect((m.allowedMentions.users ?? []).every((u) => u === '300000000000000001')).toBe(true);
          expect(m.content.length).toBeLessThanOrEqual(2000);
          // The only mention a message may carry is the deliberate one of the requester.
          const content = m.content.replace(
            /<@300000000000000001> \(\d+ more lines? sent to you privately\)/,
            '',
          );
          expect(isInertDiscordText(content)).toBe(true);
          // The renderer's own zero-width space is what keeps @everyone / @here from being one.
          expect(content.replace(/@\u200b(everyone|here)/gi, '')).not.toMatch(INVISIBLE);
          for (const embed of m.embeds ?? []) {
            expect(isInertDiscordText(embed.title)).toBe(true);
            for (const f of embed.fields) expect(isInertDiscordText(`${f.name}\n${f.value}`)).toBe(true);
          }
          for (const row of m.components ?? [])
            for (const b of row.components) expect(b.custom_id).toMatch(/^virtbot:\w+:[A-Z0-9]+$/);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('console: nothing that could drive a terminal', () => {
    fc.assert(
      fc.property(unit, (replies) => {
        const out = renderConsole(replies);
        for (const line of out.split('\n')) {
          expect(line).not.toMatch(CONTROL);
          expect(line).not.toMatch(INVISIBLE);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('the reported case, rendered', () => {
    const replies: Reply[] = [
      { text: "cannot judge '\u0001DCC SEND y\u0001\u001b[2J\u0007'", kind: 'error' },
    ];
    expect(
      renderIrc(replies, {
        direct: false,
        nick: 'a',
        limits: { channelLines: 4, privateLines: 4 },
        width: 400,
      }).here,
    ).toEqual(["cannot judge '<U+0001>DCC SEND y<U+0001><U+001B>[2J<U+0007>'"]);
  });
});
