/**
 * The checks a configuration must pass beyond its schema, so that virtbot never starts
 * half-right: secrets that cannot be read, one chat identity proving two users, names that are
 * unsafe to compare, roles and groups referenced but not defined (or that nobody holds), anonymous
 * senders granted more than help/whoami/version by accident, rules that can never apply, and
 * YAML comments that silently cut a value short. Each finding names the setting and its line.
 * Errors refuse the config; warnings are said and let it start.
 */
import { isNode, isPair, isScalar, isSeq, type LineCounter, type parseDocument, visit } from 'yaml';
import { foldName, unsafeReason } from '../core/names.js';
import { readSecret } from './read-secret.js';
import type { Config } from './schema.js';
import type { Secret } from './sections/secret.js';
import { shadowedRules } from './shadow.js';

export interface Finding {
  /** The setting, 'users.bob.irc.libera'. */
  path: string;
  line: number;
  message: string;
}

export interface CheckReport {
  errors: Finding[];
  warnings: Finding[];
}

export interface ConfigSource {
  doc: ReturnType<typeof parseDocument>;
  lineCounter: LineCounter;
}

/** What anonymous senders may be granted without `anonymous.deliberate: true`. */
export const ANONYMOUS_SAFE = new Set(['help', 'whoami', 'version']);

export async function checkConfig(
  config: Config,
  source: ConfigSource | undefined,
  options: { secrets?: boolean } = {},
): Promise<CheckReport> {
  const report: CheckReport = { errors: [], warnings: [] };
  const at = (path: PropertyKey[]) => (source ? lineOf(source, path) : 0);
  const error = (path: PropertyKey[], message: string) =>
    report.errors.push({ path: pathText(path), line: at(path), message });
  const warn = (path: PropertyKey[], message: string) =>
    report.warnings.push({ path: pathText(path), line: at(path), message });

  if (options.secrets !== false) await checkSecrets(config, error);
  checkIdentities(config, error, warn);
  checkRolesAndGroups(config, error, warn);
  checkAnonymous(config, error);
  for (const s of shadowedRules(config.rules))
    error(['rules', s.index], `this rule can never apply: ${s.reason}`);
  if (source) checkCutComments(source, report.warnings);
  const byLine = (a: Finding, b: Finding) => a.line - b.line;
  report.errors.sort(byLine);
  report.warnings.sort(byLine);
  return report;
}

type Report = (path: PropertyKey[], message: string) => void;

async function checkSecrets(config: Config, error: Report): Promise<void> {
  const secrets: [PropertyKey[], Secret | undefined][] = [];
  config.hosts.forEach((host, i) => {
    secrets.push([['hosts', i, 'ssh', 'privateKey'], host.ssh?.privateKey]);
    secrets.push([['hosts', i, 'ssh', 'passphrase'], host.ssh?.passphrase]);
  });
  config.irc.forEach((net, i) => {
    secrets.push([['irc', i, 'password'], net.password]);
    secrets.push([['irc', i, 'sasl', 'password'], net.sasl?.password]);
  });
  config.discord.forEach((server, i) => {
    secrets.push([['discord', i, 'token'], server.token]);
  });
  secrets.push([['store', 'postgres', 'url'], config.store.postgres?.url]);
  for (const [path, secret] of secrets) {
    if (secret === undefined) continue;
    try {
      await readSecret(secret, pathText(path));
    } catch (e) {
      error(
        path,
        `${(e as Error).message.replace(`${pathText(path)}: `, '')}: the secret must be readable at start`,
      );
    }
  }
}

function checkIdentities(config: Config, error: Report, warn: Report): void {
  const networks = new Set(config.irc.map((n) => n.name));
  const ircOwner = new Map<string, string>();
  const discordOwner = new Map<string, string>();
  const userByFold = new Map<string, string>();
  for (const [name, user] of Object.entries(config.users)) {
    const folded = foldName(name);
    const twin = userByFold.get(folded);
    if (twin !== undefined)
      error(['users', name], `user '${name}' and user '${twin}' are the same name once case is folded`);
    else userByFold.set(folded, name);
    for (const [network, value] of Object.entries(user.irc)) {
      if (!networks.has(network))
        warn(['users', name, 'irc', network], `no IRC network named '${network}' is configured`);
      const accounts = Array.isArray(value) ? value : [value];
      accounts.forEach((account, i) => {
        const path = Array.isArray(value)
          ? ['users', name, 'irc', network, i]
          : ['users', name, 'irc', network];
        const unsafe = unsafeReason(account);
        if (unsafe !== undefined) {
          error(path, `IRC account '${account}' is unsafe to compare: ${unsafe}`);
          return;
        }
        const key = `${network}\0${foldName(account)}`;
        const owner = ircOwner.get(key);
        if (owner !== undefined && owner !== name)
          error(
            path,
            `IRC account '${account}' on ${network} is also user '${owner}''s: an account proves one user`,
          );
        else ircOwner.set(key, name);
      });
    }
    user.discord.forEach((id, i) => {
      const owner = discordOwner.get(id);
      if (owner !== undefined && owner !== name)
        error(
          ['users', name, 'discord', i],
          `Discord id ${id} is also user '${owner}''s: an id proves one user`,
        );
      else discordOwner.set(id, name);
    });
  }
}

function checkRolesAndGroups(config: Config, error: Report, warn: Report): void {
  const defined = new Set(Object.keys(config.roles));
  const held = new Set<string>();
  const refs: [PropertyKey[], string][] = [];
  const holding = (path: PropertyKey[], roles: readonly string[]) =>
    roles.forEach((role, i) => {
      refs.push([[...path, i], role]);
      held.add(role);
    });
  for (const [name, user] of Object.entries(config.users)) holding(['users', name, 'roles'], user.roles);
  for (const [name, group] of Object.entries(config.groups)) {
    group.members.forEach((member, i) => {
      if (!Object.hasOwn(config.users, member))
        error(['groups', name, 'members', i], `group '${name}' lists '${member}', who is not a user`);
    });
    const members = group.members.filter((m) => Object.hasOwn(config.users, m));
    if (members.length === 0) warn(['groups', name], `group '${name}' has no members: nobody gets its roles`);
    group.roles.forEach((role, i) => {
      refs.push([['groups', name, 'roles', i], role]);
      if (members.length > 0) held.add(role);
    });
  }
  holding(['anonymous', 'roles'], config.anonymous.roles);
  const servers = new Set(config.discord.map((d) => d.name));
  for (const [server, mapping] of Object.entries(config.discordRoles)) {
    if (!servers.has(server))
      warn(['discordRoles', server], `no Discord server named '${server}' is configured`);
    for (const [id, roles] of Object.entries(mapping)) holding(['discordRoles', server, id], roles);
  }
  const approvers: [PropertyKey[], string, number][] = []; // path, role, rule index
  config.rules.forEach((rule, r) => {
    rule.roles?.forEach((role, i) => {
      refs.push([['rules', r, 'roles', i], role]);
    });
    if (rule.effect === 'require-approval') {
      if (rule.approvers === undefined) approvers.push([['rules', r], 'approver', r]);
      rule.approvers?.forEach((role, i) => {
        approvers.push([['rules', r, 'approvers', i], role, r]);
      });
    }
  });
  for (const [path, role] of approvers) refs.push([path, role]);
  config.rateLimits.exemptRoles.forEach((role, i) => {
    refs.push([['rateLimits', 'exemptRoles', i], role]);
  });

  for (const [path, role] of refs) {
    if (!defined.has(role)) error(path, `role '${role}' is not defined under roles`);
  }
  // An approval nobody can give: a require-approval rule none of whose approver roles anybody holds.
  const reported = new Set<string>();
  config.rules.forEach((rule, r) => {
    if (rule.effect !== 'require-approval') return;
    const mine = approvers.filter(([, , index]) => index === r);
    if (mine.some(([, role]) => held.has(role)) || mine.some(([, role]) => !defined.has(role))) return;
    const roles = mine.map(([, role]) => `'${role}'`).join(' or ');
    const implicit = rule.approvers === undefined ? " (the default when a rule names no 'approvers')" : '';
    error(
      rule.approvers === undefined ? ['rules', r] : ['rules', r, 'approvers'],
      `nobody holds role ${roles}${implicit}, so nobody can approve what this rule requires`,
    );
    for (const [, role] of mine) reported.add(role);
  });
  for (const role of defined) {
    if (!held.has(role) && !reported.has(role))
      warn(
        ['roles', role],
        `nobody holds role '${role}' (no user, group with members, Discord role or anonymous)`,
      );
  }
}

function checkAnonymous(config: Config, error: Report): void {
  if (config.anonymous.deliberate) return;
  const hint = "; if that is meant, set 'anonymous.deliberate: true'";
  config.anonymous.roles.forEach((role, i) => {
    const beyond = (config.roles[role]?.permissions ?? []).filter(
      (p) => !p.startsWith('!') && !ANONYMOUS_SAFE.has(p),
    );
    if (beyond.length > 0)
      error(
        ['anonymous', 'roles', i],
        `anonymous senders would get ${beyond.map((p) => `'${p}'`).join(', ')} from role '${role}': ` +
          `people nobody identified may have only ${[...ANONYMOUS_SAFE].join(', ')}${hint}`,
      );
  });
  config.rules.forEach((rule, r) => {
    const permission = rule.permission ?? '*';
    if (rule.effect === 'allow' && !ANONYMOUS_SAFE.has(permission))
      error(
        ['rules', r],
        `this allow rule grants '${permission}' to every sender, anonymous ones included${hint}`,
      );
  });
}

/**
 * `reason: run VM commands in #ops or in private` is YAML for "run VM commands in" and a comment.
 * A plain value followed by a comment that starts right after its '#' ('#ops', not '# note') was
 * most likely meant to be part of it.
 */
function checkCutComments(source: ConfigSource, warnings: Finding[]): void {
  visit(source.doc, {
    Pair(_key, pair, ancestors) {
      const value = pair.value;
      const comment = isScalar(value) && value.type === 'PLAIN' ? value.comment : undefined;
      if (!isScalar(value) || typeof comment !== 'string' || !/^\S/.test(comment)) return;
      const chain = [...ancestors, pair];
      const path: string[] = [];
      chain.forEach((node, k) => {
        if (isPair(node)) path.push(String(isScalar(node.key) ? node.key.value : node.key));
        else if (isSeq(node) && k + 1 < chain.length)
          path.push(String(node.items.indexOf(chain[k + 1] as never)));
      });
      warnings.push({
        path: path.join('.'),
        line: value.range ? source.lineCounter.linePos(value.range[0]).line : 0,
        message:
          `the value ends at ' #': YAML reads '${String(value.value)}' and takes '#${comment}' as a comment; ` +
          'quote the value if the rest belongs to it',
      });
    },
  });
}

function pathText(path: PropertyKey[]): string {
  return path.map(String).join('.') || '(top level)';
}

export function lineOf(source: ConfigSource, path: PropertyKey[]): number {
  // Walk up the path until a node exists: a missing key is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = source.doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return source.lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
