import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

describe('configuration', () => {
  it('config/example.yaml is a valid configuration', async () => {
    const config = parseConfigText(await readFile('config/example.yaml', 'utf8'), 'config/example.yaml');
    expect(config.hosts.map((h) => h.name)).toEqual(['lab', 'prod-1']);
    expect(config.irc[0]!.name).toBe('libera');
    expect(config.discord[0]!.name).toBe('team');
    expect(config.users['alinefm']!.irc['libera']).toBe('alinefm');
  });

  it('names the file, line and setting of an error, with a hint', () => {
    const text = [
      'bot:',
      '  nick: virtbot',
      'hosts:',
      '  - name: lab',
      '    uri: qemu:///system',
      '    sssh: {}',
    ].join('\n');
    expect(() => parseConfigText(text, 'virtbot.yaml')).toThrow(ConfigError);
    expect(() => parseConfigText(text, 'virtbot.yaml')).toThrow(
      "virtbot.yaml:4: hosts.0: unknown setting 'sssh'",
    );
  });

  it('reports a wrong type at the line of the value', () => {
    const text = ['hosts:', '  - name: lab', '    uri: 42'].join('\n');
    expect(() => parseConfigText(text, 'c.yaml')).toThrow(/^c\.yaml:3: hosts\.0\.uri: /);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parseConfigText('hosts:\n  - name: [unclosed\n', 'c.yaml')).toThrow(
      /^c\.yaml:\d+: YAML syntax:/,
    );
  });

  it('requires at least one host', () => {
    expect(() => parseConfigText('bot: { nick: x }', 'c.yaml')).toThrow('c.yaml:1: hosts:');
  });

  it('refuses an SSH host without a host key to verify against', () => {
    const text = [
      'hosts:',
      '  - name: far',
      '    uri: qemu:///system',
      '    ssh: { host: 127.0.0.1, user: v, privateKey: { file: /k } }',
    ].join('\n');
    expect(() => parseConfigText(text, 'c.yaml')).toThrow('virtbot never trusts an unknown host key');
  });

  it('refuses a plain-text secret unless marked insecure', () => {
    const base = [
      'hosts: [{ name: h, uri: "test:///default" }]',
      'discord:',
      '  - name: d',
      '    guildId: "1234567"',
    ];
    expect(() => parseConfigText([...base, '    token: abc'].join('\n'), 'c.yaml')).toThrow('c.yaml:');
    expect(
      parseConfigText([...base, '    token: { value: abc, insecure: true }'].join('\n')).discord,
    ).toHaveLength(1);
  });
});
