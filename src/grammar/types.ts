/**
 * One validator per argument type. Each takes the token's text and returns the typed value or
 * throws ArgError with a message that quotes the bad token. These checks are the first line of
 * defence: nothing that fails them ever reaches a backend.
 */
import type { ArgSpec, ArgType, ArgValue } from '../command/spec.js';
import { showToken } from './show.js';
import { didYouMean } from './suggest.js';

export class ArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgError';
  }
}

export interface ValidationContext {
  /** Configured host names, for 'host' arguments. */
  hostNames: readonly string[];
  now(): Date;
}

/** Names libvirt accepts and that are safe everywhere virtbot puts them (virsh, XML, file names). */
const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
/** POSIX portable user/group names. */
const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const BRIDGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
const SIZE = /^(\d+(?:\.\d+)?)([kmgtp]?)(i?b)?$/i;
const MAX_TEXT = 2000;

const quote = (text: string) => showToken(text);

function checkName(kind: string, text: string, pattern: RegExp, rule: string): string {
  if (!pattern.test(text)) throw new ArgError(`${quote(text)} is not a valid ${kind}: ${rule}`);
  return text;
}

const UNIT_KIB: Record<string, number> = { '': 1, k: 1, m: 1024, g: 1024 ** 2, t: 1024 ** 3, p: 1024 ** 4 };

/** Sizes: `2G`, `512M`, `1.5GiB`, `1024` (KiB, libvirt's default unit). Returns KiB. */
export function parseSize(text: string): number {
  const match = SIZE.exec(text.trim());
  if (!match)
    throw new ArgError(`${quote(text)} is not a size: use a number with K, M, G or T (e.g. 2G, 512M)`);
  const unit = match[2]!.toLowerCase();
  if (match[3] && /^b$/i.test(match[3]) && unit === '') {
    throw new ArgError(`${quote(text)} is not a size: bytes are too small a unit, use K, M, G or T`);
  }
  const kib = Number(match[1]) * UNIT_KIB[unit]!;
  if (!Number.isFinite(kib) || kib < 1 || kib > 2 ** 50) throw new ArgError(`${quote(text)} is out of range`);
  return Math.round(kib);
}

export function formatKiB(kib: number): string {
  const units: [string, number][] = [
    ['P', 1024 ** 4],
    ['T', 1024 ** 3],
    ['G', 1024 ** 2],
    ['M', 1024],
  ];
  for (const [unit, factor] of units) {
    if (kib < factor) continue;
    const value = kib / factor;
    return Number.isInteger(value) ? `${value}${unit}` : `${value.toFixed(1)}${unit}`;
  }
  return `${kib}K`;
}

const RELATIVE_TIME = /^(\d+)\s*(s|m|h|d|w)$/i;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

function parseTime(text: string, ctx: ValidationContext): string {
  const relative = RELATIVE_TIME.exec(text);
  if (relative) {
    const seconds = Number(relative[1]) * SECONDS[relative[2]!.toLowerCase()]!;
    return new Date(ctx.now().getTime() - seconds * 1000).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const date = new Date(text.length === 10 ? `${text}T00:00:00Z` : text.replace(' ', 'T'));
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  throw new ArgError(`${quote(text)} is not a time: use 2026-11-25, 2026-11-25T10:00Z or 30m, 2h, 7d ago`);
}

const VALIDATORS: Record<ArgType, (text: string, spec: ArgSpec, ctx: ValidationContext) => ArgValue> = {
  vm: (t) => checkName('VM name', t, OBJECT_NAME, 'letters, digits and . _ + - (up to 64)'),
  network: (t) => checkName('network name', t, OBJECT_NAME, 'letters, digits and . _ + - (up to 64)'),
  pool: (t) => checkName('pool name', t, OBJECT_NAME, 'letters, digits and . _ + - (up to 64)'),
  bridge: (t) => checkName('bridge name', t, BRIDGE_NAME, 'letters, digits and . _ : - (up to 15)'),
  name: (t) => checkName('name', t, ACCOUNT_NAME, 'a letter or _, then letters, digits and . _ - (up to 32)'),
  host: (t, _s, ctx) => {
    checkName('host name', t, OBJECT_NAME, 'letters, digits and . _ + -');
    if (!ctx.hostNames.includes(t)) {
      throw new ArgError(
        `unknown host ${quote(t)}${didYouMean(t, ctx.hostNames)} (hosts: ${ctx.hostNames.join(', ')})`,
      );
    }
    return t;
  },
  mac: (t) => {
    if (!MAC.test(t))
      throw new ArgError(`${quote(t)} is not a MAC address: use six hex pairs like 52:54:00:12:34:56`);
    const mac = t.toLowerCase();
    if (Number.parseInt(mac.slice(0, 2), 16) & 1)
      throw new ArgError(`${quote(t)} is a multicast MAC address`);
    return mac;
  },
  size: (t, spec) => {
    const kib = parseSize(t);
    if (spec.min !== undefined && kib < spec.min)
      throw new ArgError(`${quote(t)} is too small: at least ${formatKiB(spec.min)}`);
    if (spec.max !== undefined && kib > spec.max)
      throw new ArgError(`${quote(t)} is too large: at most ${formatKiB(spec.max)}`);
    return kib;
  },
  int: (t, spec) => {
    if (!/^-?\d{1,15}$/.test(t)) throw new ArgError(`${quote(t)} is not a whole number`);
    const n = Number(t);
    if (spec.min !== undefined && n < spec.min)
      throw new ArgError(`${quote(t)} is too small: at least ${spec.min}`);
    if (spec.max !== undefined && n > spec.max)
      throw new ArgError(`${quote(t)} is too large: at most ${spec.max}`);
    return n;
  },
  enum: (t, spec) => {
    const choices = spec.choices ?? [];
    const found = choices.find((c) => c.toLowerCase() === t.toLowerCase());
    if (found === undefined) {
      throw new ArgError(
        `${quote(t)} is not a valid ${spec.name}${didYouMean(t, choices)} (choose from ${choices.join(', ')})`,
      );
    }
    return found;
  },
  names: (t) =>
    t
      .split(/[\s,]+/)
      .filter((n) => n !== '')
      .map((n) =>
        checkName('name', n, ACCOUNT_NAME, 'a letter or _, then letters, digits and . _ - (up to 32)'),
      ),
  path: (t) => {
    if (
      !t.startsWith('/') ||
      t.length > 4096 ||
      /[\u0000-\u001f\u007f]/.test(t) ||
      /(^|\/)\.\.(\/|$)/.test(t)
    ) {
      throw new ArgError(`${quote(t)} is not an absolute path without '..' or control characters`);
    }
    return t;
  },
  text: (t) => {
    if (t.length > MAX_TEXT) throw new ArgError(`text too long: ${t.length} characters, at most ${MAX_TEXT}`);
    return t;
  },
  bool: (t) => {
    const v = t.toLowerCase();
    if (['yes', 'true', 'on', '1'].includes(v)) return true;
    if (['no', 'false', 'off', '0'].includes(v)) return false;
    throw new ArgError(`${quote(t)} is not yes or no`);
  },
  code: (t) => {
    if (!/^[A-Za-z0-9]{4,16}$/.test(t)) throw new ArgError(`${quote(t)} is not a confirmation code`);
    return t.toUpperCase();
  },
  time: (t, _s, ctx) => parseTime(t, ctx),
  channel: (t) => {
    if (t.toLowerCase() === 'private') return 'private';
    if (!/^[#&+!][^\s,\u0000-\u001f\u007f]{1,199}$/u.test(t))
      throw new ArgError(`${quote(t)} is not a channel: use #channel or private`);
    return t;
  },
};

export function validateValue(text: string, spec: ArgSpec, ctx: ValidationContext): ArgValue {
  return VALIDATORS[spec.type](text, spec, ctx);
}
