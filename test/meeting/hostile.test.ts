import { readFileSync } from 'node:fs';
import { XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { harness, minutesBase } from './helpers.js';
import { HOSTILE_LINES, LONG_ENTITIES, LONG_LINE } from './hostile.fixture.js';

const files: Record<string, string> = {};

beforeAll(async () => {
  const h = harness();
  await h.say('alice', '#startmeeting <script>window.__pwned=true</script>');
  await h.say('alice', '#topic "><script>window.__pwned=true</script> & \x0304topic\x03');
  for (const line of HOSTILE_LINES) await h.say('mallory', line);
  // A Discord display name can hold anything.
  await h.say('"><img src=x onerror=alert(1)>', '#info from a hostile name');
  await h.say('alice', '#endmeeting');
  for (const ext of ['.html', '.txt', '.md', '.log.html', '.log.txt']) {
    files[ext] = readFileSync(minutesBase(h) + ext, 'utf8');
  }
});

describe('hostile text in items', () => {
  it('keeps the HTML well-formed (XML-valid) and free of injected markup', () => {
    for (const ext of ['.html', '.log.html']) {
      const html = files[ext]!;
      expect(XMLValidator.validate(html), ext).toBe(true);
      expect(html.match(/<script/gi), ext).toBeNull();
      expect(html, ext).not.toMatch(/<img|<b>bold|<i>x|<!--|<!\[CDATA/i);
      expect(html, ext).toContain('&lt;script&gt;window.__pwned=true&lt;/script&gt;');
      expect(html, ext).toContain('&amp;amp; &amp;lt;');
      expect(html, ext).toContain('&quot;double&quot; &#39;single&#39;');
      // Only one <style> element, the page's own, in <head>.
      expect(html.match(/<style>/g), ext).toHaveLength(1);
    }
  });

  it('turns only http/https/ftp/irc/ssh/mailto into links', () => {
    const hrefs = [...files['.html']!.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    for (const href of hrefs)
      expect(href).toMatch(/^(https?:|mailto:|[a-z0-9._-]+\.2024-01-15-10\.00\.log\.html)/);
    expect(hrefs).toContain('https://example.org/?a=1&amp;b=');
    expect(hrefs).toContain('mailto:someone@example.org?subject=');
    expect(files['.html']).toContain('<span class="type LINK">LINK</span>: javascript:window.__pwned=true');
  });

  it('strips IRC colour and formatting codes everywhere', () => {
    for (const [ext, text] of Object.entries(files)) {
      expect(text, ext).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    }
    expect(files['.txt']).toContain('INFO: red on black and bold under italic rev plain hex ACTION ctcp');
    expect(files['.log.txt']).toContain('<alice> #topic "><script>window.__pwned=true</script> & topic');
  });

  it('keeps 10 000-character lines whole', () => {
    const long = LONG_LINE.slice('#info '.length);
    expect(long).toHaveLength(10_000);
    for (const ext of ['.html', '.txt', '.md', '.log.html', '.log.txt'])
      expect(files[ext], ext).toContain(long);
    const entities = LONG_ENTITIES.slice('#idea '.length);
    expect(files['.txt']).toContain(entities);
    expect(files['.html']).toContain(
      entities.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;'),
    );
  });

  it('escapes Markdown so no raw HTML gets through', () => {
    const md = files['.md']!;
    expect(md).not.toMatch(/<script|<img|<b>/i);
    expect(md).toContain('&lt;script&gt;');
    expect(md).toContain('\\]\\]&gt; &lt;!-- --&gt; &lt;!\\[CDATA\\[ x \\]\\]&gt;');
  });

  it('names hostile nicks in escaped form and still counts them', () => {
    expect(files['.html']).toContain(
      '<span class="nick">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</span> (1)',
    );
    expect(files['.txt']).toContain('* mallory (13)');
    expect(files['.txt']).toContain('\n* mallory\n  * mallory to fix <b>bold</b> & <img src=x');
  });

  it('keeps Unicode (a lone surrogate becomes U+FFFD)', () => {
    expect(files['.txt']).toContain('Ünïcødé ✓ 😀');
    expect(files['.txt']).toContain('lone surrogate \ufffd end');
  });
});
