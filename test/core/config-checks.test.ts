import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveIdentity } from '../../src/auth/identity.js';
import { checkConfig } from '../../src/config/check.js';
import { demoConfig } from '../../src/config/demo.js';
import { ConfigError, checkConfigFile, loadConfigFile, parseConfigSource } from '../../src/config/load.js';
import { globCovers, shadowedRules } from '../../src/config/shadow.js';
import { foldName, sameAccount, unsafeReason } from '../../src/core/names.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtbot-config-checks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const HOST = 'hosts: [{ name: test, uri: "test:///default" }]';

/** Errors and warnings as 'LINE: path: message' (secrets not read unless asked). */
async function findings(lines: string[], secrets = false) {
  const { config, source } = parseConfigSource(lines.join('\n'), 'c.yaml');
  const report = await checkConfig(config, source, { secrets });
  const show = (f: { line: number; path: string; message: string }) => `${f.line}: ${f.path}: ${f.message}`;
  return { errors: report.errors.map(show), warnings: report.warnings.map(show) };
}

describe('secrets must be readable at start', () => {
  const lines = [
    HOST,
    'discord:',
    '  - name: team',
    '    guildId: "112233445566778899"',
    '    token: { env: VIRTBOT_TEST_MISSING_TOKEN }',
  ];

  it('refuses a config whose Discord token variable is not set, naming its line', async () => {
    delete process.env['VIRTBOT_TEST_MISSING_TOKEN'];
    const file = join(dir, 'token.yaml');
    await writeFile(file, lines.join('\n'));
    await expect(loadConfigFile(file)).rejects.toThrow(ConfigError);
    await expect(loadConfigFile(file)).rejects.toThrow(
      `${file}:5: discord.0.token: environment variable VIRTBOT_TEST_MISSING_TOKEN is not set: the secret must be readable at start`,
    );
    process.env['VIRTBOT_TEST_MISSING_TOKEN'] = 'a-token';
    try {
      expect((await loadConfigFile(file)).discord).toHaveLength(1);
    } finally {
      delete process.env['VIRTBOT_TEST_MISSING_TOKEN'];
    }
  });

  it('refuses an unreadable key file', async () => {
    const { errors } = await findings(
      [
        'hosts:',
        '  - name: far',
        '    uri: qemu+ssh://far/system',
        '    ssh:',
        '      host: far',
        '      user: virtbot',
        `      privateKey: { file: ${join(dir, 'no-such-key')} }`,
        '      hostKey: ssh-ed25519 AAAA',
      ],
      true,
    );
    expect(errors).toEqual([
      `7: hosts.0.ssh.privateKey: cannot read ${join(dir, 'no-such-key')}: ENOENT: the secret must be readable at start`,
    ]);
  });
});

describe('one identity proves one user', () => {
  it('refuses two users with one IRC account on a network, case folded; another network is fine', async () => {
    const { errors } = await findings([
      HOST,
      'irc: [{ name: libera, host: irc.example.org }, { name: oftc, host: irc.example.net }]',
      'users:',
      '  alice: { irc: { libera: alice } }',
      '  bob: { irc: { libera: [bob, ALICE] } }',
      '  carol: { irc: { oftc: alice } }',
    ]);
    expect(errors).toEqual([
      "5: users.bob.irc.libera.1: IRC account 'ALICE' on libera is also user 'alice''s: an account proves one user",
    ]);
  });

  it('refuses two users with one Discord id', async () => {
    const { errors } = await findings([
      HOST,
      'users:',
      '  alice: { discord: ["223344556677889900"] }',
      '  bob:',
      '    discord: ["223344556677889900"]',
    ]);
    expect(errors).toEqual([
      "5: users.bob.discord.0: Discord id 223344556677889900 is also user 'alice''s: an id proves one user",
    ]);
  });

  it('refuses account names that are unsafe to compare: NFKC-changed, invisible, mixed-script', async () => {
    const { errors } = await findings([
      HOST,
      'irc: [{ name: libera, host: irc.example.org }]',
      'users:',
      '  kevin: { irc: { libera: "\\u212Aevin" } }',
      '  alice: { irc: { libera: "\\u0430lice" } }',
      '  bob: { irc: { libera: "bob\\u200B" } }',
    ]);
    expect(errors).toEqual([
      "4: users.kevin.irc.libera: IRC account '\u212Aevin' is unsafe to compare: it contains U+212A, which NFKC turns into 'K'",
      "5: users.alice.irc.libera: IRC account 'аlice' is unsafe to compare: it mixes letters of Cyrillic and Latin",
      "6: users.bob.irc.libera: IRC account 'bob\u200B' is unsafe to compare: it contains U+200B, an invisible or control character",
    ]);
  });

  it('warns about an account on a network that is not configured', async () => {
    const { warnings } = await findings([HOST, 'users:', '  alice: { irc: { nowhere: alice } }']);
    expect(warnings).toEqual(["3: users.alice.irc.nowhere: no IRC network named 'nowhere' is configured"]);
  });
});

describe('names: one comparison', () => {
  it('folds case and compatibility forms, and refuses confusables', () => {
    expect(foldName('STRASSE')).toBe(foldName('straße'));
    expect(sameAccount('Kevin', 'kevin')).toBe(true);
    expect(sameAccount('straße', 'STRASSE')).toBe(true);
    expect(sameAccount('\u212Aevin', 'kevin')).toBe(false);
    expect(sameAccount('ｋｅｖｉｎ', 'kevin')).toBe(false);
    expect(sameAccount('\u0430lice', 'alice')).toBe(false);
    expect(unsafeReason('山田たろう')).toBeUndefined();
    expect(unsafeReason('Ελένη')).toBeUndefined();
  });

  it('an IRC account with a Kelvin sign is not the configured kevin', () => {
    const { config } = parseConfigSource(
      [
        HOST,
        'irc: [{ name: libera, host: irc.example.org }]',
        'users: { kevin: { irc: { libera: kevin }, roles: [] } }',
      ].join('\n'),
    );
    const place = { transport: 'irc', network: 'libera', channel: '#ops', private: false };
    expect(resolveIdentity(config, place, { nick: 'k', account: '\u212Aevin' }).user).toBeNull();
    expect(resolveIdentity(config, place, { nick: 'k', account: 'Kevin' }).user).toBe('kevin');
  });
});

describe('roles and groups', () => {
  it('refuses a role referenced but not defined, and a group member who is not a user', async () => {
    const { errors } = await findings([
      HOST,
      'users:',
      '  alice: { roles: [ops] }',
      'groups:',
      '  devs: { members: [alice, mallory], roles: [viewer] }',
      'roles: { viewer: { permissions: [vm.list] } }',
    ]);
    expect(errors).toEqual([
      "3: users.alice.roles.0: role 'ops' is not defined under roles",
      "5: groups.devs.members.1: group 'devs' lists 'mallory', who is not a user",
    ]);
  });

  it('refuses an approval nobody can give, warns about a role nobody holds', async () => {
    const { errors, warnings } = await findings([
      HOST,
      'users: { alice: { roles: [ops] } }',
      'roles:',
      '  ops: { permissions: ["*"] }',
      '  lead: { permissions: [approve] }',
      '  approver: { permissions: [approve] }',
      '  auditor: { permissions: [history] }',
      'rules:',
      '  - permission: vm.delete',
      '    effect: require-approval',
      '    approvers: [lead]',
      '  - permission: vm.stop',
      '    effect: require-approval',
    ]);
    expect(errors).toEqual([
      "11: rules.0.approvers: nobody holds role 'lead', so nobody can approve what this rule requires",
      "12: rules.1: nobody holds role 'approver' (the default when a rule names no 'approvers'), so nobody can approve what this rule requires",
    ]);
    expect(warnings).toEqual([
      "7: roles.auditor: nobody holds role 'auditor' (no user, group with members, Discord role or anonymous)",
    ]);
  });
});

describe('anonymous senders', () => {
  const lines = (deliberate: string[] = []) => [
    HOST,
    'roles:',
    '  open: { permissions: [help, whoami, version, "!vm.*"] }',
    '  viewer: { permissions: [vm.list] }',
    'anonymous:',
    '  roles: [open, viewer]',
    ...deliberate,
    'rules:',
    '  - { permission: vm.info, effect: allow }',
  ];

  it('refuses anything beyond help, whoami and version unless deliberate', async () => {
    expect((await findings(lines())).errors).toEqual([
      "6: anonymous.roles.1: anonymous senders would get 'vm.list' from role 'viewer': people nobody identified may have only help, whoami, version; if that is meant, set 'anonymous.deliberate: true'",
      "8: rules.0: this allow rule grants 'vm.info' to every sender, anonymous ones included; if that is meant, set 'anonymous.deliberate: true'",
    ]);
    expect((await findings(lines(['  deliberate: true']))).errors).toEqual([]);
  });

  it('the embedded demo grants everything to anonymous on purpose and passes', async () => {
    const report = await checkConfig(demoConfig(join(dir, 'demo')), undefined, { secrets: false });
    expect(report.errors).toEqual([]);
  });
});

describe('rules that can never apply', () => {
  it('refuses an allow that a deny on the same match always beats, and a duplicate', async () => {
    const { errors } = await findings([
      HOST,
      'anonymous: { deliberate: true }',
      'rules:',
      '  - { name: no-stop, permission: vm.stop, effect: deny }',
      '  - { name: stop-ok, permission: vm.stop, effect: allow }',
      '  - { name: again, permission: vm.stop, effect: deny }',
    ]);
    expect(errors).toEqual([
      "5: rules.1: this rule can never apply: rule 'no-stop' (rules.0) matches every request this rule matches and deny wins a tie, so this allow never decides",
      "6: rules.2: this rule can never apply: rule 'no-stop' (rules.0) matches every request this rule matches just as specifically, so this deny never decides",
    ]);
  });

  it('refuses an obligation under a broader deny that nothing overrides, but not once an allow overrides it', async () => {
    const base = [
      HOST,
      'anonymous: { deliberate: true }',
      'users: { alice: { roles: [admin] } }',
      'roles: { admin: { permissions: ["*"] } }',
      'rules:',
      '  - { name: frozen, permission: "vm.*", host: "prod-*", effect: deny }',
      '  - { name: needs-admin, permission: vm.stop, host: prod-1, effect: require-role, roles: [admin] }',
    ];
    expect((await findings(base)).errors).toEqual([
      "7: rules.1: this rule can never apply: rule 'frozen' (rules.0) denies every request this rule matches, and no more specific allow overrides it",
    ]);
    const rescued = [...base, '  - { name: thaw, permission: vm.stop, host: "prod-1", effect: allow }'];
    expect((await findings(rescued)).errors).toEqual([]);
  });

  it('leaves alone rules that decide some requests: more specific, narrower place, other arguments', () => {
    const rules = parseConfigSource(
      [
        HOST,
        'rules:',
        '  - { permission: "vm.*", effect: deny }',
        '  - { permission: vm.list, effect: allow }',
        '  - { permission: "vm.*", channels: ["#ops"], effect: allow }',
        '  - { permission: vm.create, args: { memory: ">16G" }, effect: require-approval }',
        '  - { permission: vm.create, args: { memory: ">32G" }, effect: deny }',
      ].join('\n'),
    ).config.rules;
    expect(shadowedRules(rules)).toEqual([]);
  });

  it('glob inclusion', () => {
    expect(globCovers('vm.*', 'vm.nic.add')).toBe(true);
    expect(globCovers('vm.*', 'vm.nic.*')).toBe(true);
    expect(globCovers('vm.nic.*', 'vm.*')).toBe(false);
    expect(globCovers('prod-?', 'prod-1')).toBe(true);
    expect(globCovers('prod-?', 'prod-*')).toBe(false);
    expect(globCovers('*', '')).toBe(true);
    expect(globCovers('a*b', 'a?b')).toBe(true);
    expect(globCovers('a*b', 'ab*')).toBe(false);
  });
});

describe('YAML that says less than it seems to', () => {
  it('warns when a plain value is cut by what looks like part of it', async () => {
    const { warnings } = await findings([
      HOST,
      'rules:',
      '  - permission: "vm.*"',
      '    notChannels: ["#ops"]',
      '    effect: deny',
      '    reason: run VM commands in #ops or in private',
      'bot:',
      '  nick: virtbot   # a real comment',
    ]);
    expect(warnings).toEqual([
      "6: rules.0.reason: the value ends at ' #': YAML reads 'run VM commands in' and takes '#ops or in private' as a comment; quote the value if the rest belongs to it",
    ]);
  });

  it('config/example.yaml passes every check but its secrets, and says what it means', async () => {
    const { config, report } = await checkConfigFile('config/example.yaml', { secrets: false });
    expect(report).toEqual({ errors: [], warnings: [] });
    expect(config.rules[2]!.reason).toBe('run VM commands in #kimchi-ops or in a private message');
  });
});
