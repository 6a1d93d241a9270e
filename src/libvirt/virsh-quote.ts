/**
 * Quoting for virsh's own command-line parser (not a POSIX shell) and the name rules libvirt
 * accepts. Everything that goes into a virsh command line passes through `quoteVirshArg`.
 *
 * virsh's interactive parser (vsh.c, vshCommandStringGetArg) splits tokens on blanks and `;`,
 * treats `'…'` as literal, `"…"` with backslash escapes, a bare backslash as an escape, and `#`
 * at a token start as a comment. Commands arrive one line at a time through readline, which
 * also interprets control characters (TAB completes, ESC starts key sequences). So:
 *  - every argument is wrapped in single quotes, an embedded `'` becomes `'\''` (as in sh);
 *  - control characters (including newline and tab) are refused outright: they cannot be
 *    quoted for a line-oriented readline stream.
 */

export class VirshArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirshArgError';
  }
}

/** C0/C1 controls, DEL, and the Unicode line/paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Longest argument virtbot ever sends (paths, metadata XML). */
export const MAX_ARG_LENGTH = 8192;

function shown(text: string): string {
  const cut = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return JSON.stringify(cut);
}

/** Quote one argument for virsh's parser. Throws VirshArgError for what cannot be sent safely. */
export function quoteVirshArg(arg: string): string {
  if (arg.length > MAX_ARG_LENGTH) throw new VirshArgError(`argument too long (${arg.length} characters)`);
  if (CONTROL.test(arg)) throw new VirshArgError(`argument ${shown(arg)} contains a control character`);
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The virsh command name itself is never quoted, so it must be a plain word. */
const COMMAND = /^[a-z][a-z0-9-]*$/;
/** Option names: `--live`, `--domain`. */
const OPTION = /^--[a-z][a-z0-9-]*$/;

export type VirshArg = string | { option: string } | { option: string; value: string | number };

/**
 * Build one virsh command line. Options are given as `{ option: '--domain', value: name }` so that
 * a value is never mistaken for an option (a quoted `'--x'` would still be parsed as an option).
 */
export function virshCommandLine(command: string, args: readonly VirshArg[]): string {
  if (!COMMAND.test(command)) throw new VirshArgError(`bad virsh command ${shown(command)}`);
  const parts = [command];
  for (const arg of args) {
    if (typeof arg === 'string') {
      if (arg.startsWith('-'))
        throw new VirshArgError(`positional argument ${shown(arg)} looks like an option`);
      parts.push(quoteVirshArg(arg));
      continue;
    }
    if (!OPTION.test(arg.option)) throw new VirshArgError(`bad virsh option ${shown(arg.option)}`);
    parts.push(arg.option);
    if ('value' in arg) parts.push(quoteVirshArg(String(arg.value)));
  }
  return parts.join(' ');
}

// ------------------------------------------------------------------ names libvirt accepts

/**
 * Domain, network, pool and volume names virtbot handles. libvirt itself accepts almost any
 * string without `/` for a domain name; virtbot is stricter so that a name is also safe in a
 * file name, an XML attribute, a chat line and a log record.
 */
const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
/** POSIX portable user and group names. */
const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
/** Linux interface names: at most 15 bytes, no `/`, no blanks. */
const BRIDGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
/** Device target names: vda, sdb, hdc, vdaa. */
const TARGET = /^[a-z]{2,3}[a-z]{1,3}$/;

export type NameKind = 'vm' | 'network' | 'pool' | 'volume' | 'bridge' | 'account' | 'mac' | 'target';

const RULES: Record<NameKind, [RegExp, string]> = {
  vm: [OBJECT_NAME, 'letters, digits and . _ + - (up to 64, starting with a letter or digit)'],
  network: [OBJECT_NAME, 'letters, digits and . _ + - (up to 64, starting with a letter or digit)'],
  pool: [OBJECT_NAME, 'letters, digits and . _ + - (up to 64, starting with a letter or digit)'],
  volume: [OBJECT_NAME, 'letters, digits and . _ + - (up to 64, starting with a letter or digit)'],
  bridge: [BRIDGE_NAME, 'letters, digits and . _ : - (up to 15)'],
  account: [ACCOUNT_NAME, 'a letter or _, then letters, digits and . _ - (up to 32)'],
  mac: [MAC, 'six lower-case hex pairs like 52:54:00:12:34:56'],
  target: [TARGET, 'a device target like vda, sdb or hdc'],
};

const LABEL: Record<NameKind, string> = {
  vm: 'VM name',
  network: 'network name',
  pool: 'pool name',
  volume: 'volume name',
  bridge: 'bridge name',
  account: 'account name',
  mac: 'MAC address',
  target: 'device target',
};

export function isValidName(kind: NameKind, name: string): boolean {
  return RULES[kind][0].test(name);
}

/** Throws VirshArgError unless `name` is a valid name of this kind. Returns it for chaining. */
export function checkName(kind: NameKind, name: string): string {
  const [pattern, rule] = RULES[kind];
  if (!pattern.test(name)) throw new VirshArgError(`${shown(name)} is not a valid ${LABEL[kind]}: ${rule}`);
  return name;
}

/** Absolute path without `..`, control characters or a trailing slash. */
export function checkPath(path: string): string {
  if (
    !path.startsWith('/') ||
    path.length > 4096 ||
    CONTROL.test(path) ||
    /(^|\/)\.\.(\/|$)/.test(path) ||
    (path.length > 1 && path.endsWith('/'))
  ) {
    throw new VirshArgError(`${shown(path)} is not an absolute path without '..' or control characters`);
  }
  return path;
}
