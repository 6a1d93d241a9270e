import { describe, expect, it } from 'vitest';
import { normalizeSmartCharacters, TokenizeError, tokenize } from '../../src/grammar/tokenize.js';

const values = (line: string) => tokenize(line).map((t) => t.value);

describe('tokenize', () => {
  it('splits on any whitespace and drops empty tokens', () => {
    expect(values('  vm\tlist   host=test ')).toEqual(['vm', 'list', 'test']);
    expect(tokenize('')).toEqual([]);
    expect(tokenize('   ')).toEqual([]);
  });

  it('reads double quotes with backslash escapes inside', () => {
    expect(values('say "hello world"')).toEqual(['say', 'hello world']);
    expect(values('say "a \\"quoted\\" word"')).toEqual(['say', 'a "quoted" word']);
    expect(values('say "back\\\\slash"')).toEqual(['say', 'back\\slash']);
    expect(values('say ""')).toEqual(['say', '']);
  });

  it('reads single quotes literally, backslashes included', () => {
    expect(values("say 'it\\s literal'")).toEqual(['say', 'it\\s literal']);
    expect(values(`say 'a "double" inside'`)).toEqual(['say', 'a "double" inside']);
  });

  it('joins adjacent quoted and unquoted parts into one token', () => {
    expect(values(`ab"c d"'e f'g`)).toEqual(['abc de fg']);
  });

  it('treats a backslash outside quotes as escaping the next character', () => {
    expect(values('a\\ b c')).toEqual(['a b', 'c']);
    expect(values('\\"x')).toEqual(['"x']);
  });

  it('classifies key=value, --key=value and --flag', () => {
    const [a, b, c, d] = tokenize('network=default --model=e1000 --live MAC=52:54:00:00:00:01');
    expect(a).toMatchObject({ key: 'network', value: 'default' });
    expect(b).toMatchObject({ key: 'model', value: 'e1000' });
    expect(c).toMatchObject({ flag: 'live', value: '--live' });
    expect(d).toMatchObject({ key: 'mac', value: '52:54:00:00:00:01' });
  });

  it('keeps a quoted value of a key=value pair', () => {
    expect(tokenize('text="a b=c"')[0]).toMatchObject({ key: 'text', value: 'a b=c' });
  });

  it('never makes a key out of a quoted or escaped equals sign', () => {
    expect(tokenize('"a=b"')[0]!.key).toBeUndefined();
    expect(tokenize('a\\=b')[0]!.key).toBeUndefined();
    expect(tokenize('a\\=b')[0]!.value).toBe('a=b');
    expect(tokenize('=x')[0]!.key).toBeUndefined();
    expect(tokenize('1a=x')[0]!.key).toBeUndefined();
  });

  it('does not treat a quoted --flag as a flag', () => {
    expect(tokenize('"--force"')[0]!.flag).toBeUndefined();
  });

  it('reads smart quotes and dashes as ASCII', () => {
    expect(values('say \u201chello world\u201d')).toEqual(['say', 'hello world']);
    expect(values('say \u2018a b\u2019')).toEqual(['say', 'a b']);
    expect(tokenize('\u2014force')[0]!.flag).toBe('force');
    expect(tokenize('\u2013model=virtio')[0]).toMatchObject({ key: 'model', value: 'virtio' });
    expect(normalizeSmartCharacters('web\u201301')).toBe('web-01');
  });

  it('reports an unterminated quote with its column', () => {
    expect(() => tokenize('say "oops')).toThrow(TokenizeError);
    expect(() => tokenize('say "oops')).toThrow('unterminated " quote starting at column 5');
    expect(() => tokenize("say 'oops")).toThrow("unterminated ' quote starting at column 5");
  });

  it('reports a trailing backslash', () => {
    expect(() => tokenize('vm list \\')).toThrow('a backslash at the end of the line escapes nothing');
  });

  it('keeps the raw text and start column of each token', () => {
    const [, second] = tokenize('vm  "a b"');
    expect(second).toMatchObject({ raw: '"a b"', start: 4, quoted: true });
  });
});
