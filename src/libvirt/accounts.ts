/**
 * Which accounts of a host are people (or groups of people) that may be given access to VMs:
 * the id ranges of the host's login.defs (UID_MIN–UID_MAX, GID_MIN–GID_MAX), so that system
 * accounts such as libvirt-qemu (uid 64055 on Debian, above UID_MAX) are never offered.
 */
import type { AccountsConfig } from '../config/sections/hosts.js';

export interface IdRange {
  min: number;
  max: number;
}

export interface AccountRanges {
  uid: IdRange;
  gid: IdRange;
  /** Where the ranges come from, for messages: "/etc/login.defs", "defaults". */
  source: string;
}

/** shadow's defaults when login.defs says nothing (useradd/groupadd use the same). */
export const DEFAULT_RANGES: AccountRanges = {
  uid: { min: 1000, max: 60000 },
  gid: { min: 1000, max: 60000 },
  source: 'defaults',
};

/** The numeric settings of a login.defs file (`NAME value` lines, `#` comments). */
export function parseLoginDefs(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^([A-Z_][A-Z0-9_]*)\s+(\d+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The ranges from login.defs text (undefined: not readable), overridden by the host's config. */
export function accountRanges(
  loginDefs: string | undefined,
  config: Partial<AccountsConfig> = {},
  source = config.loginDefs ?? '/etc/login.defs',
): AccountRanges {
  const defs = loginDefs !== undefined ? parseLoginDefs(loginDefs) : {};
  const pick = (override: number | undefined, key: string, fallback: number) =>
    override ?? defs[key] ?? fallback;
  return {
    uid: {
      min: pick(config.uidMin, 'UID_MIN', DEFAULT_RANGES.uid.min),
      max: pick(config.uidMax, 'UID_MAX', DEFAULT_RANGES.uid.max),
    },
    gid: {
      min: pick(config.gidMin, 'GID_MIN', DEFAULT_RANGES.gid.min),
      max: pick(config.gidMax, 'GID_MAX', DEFAULT_RANGES.gid.max),
    },
    source: loginDefs !== undefined ? source : DEFAULT_RANGES.source,
  };
}

/** Remembers values for a while: `get(key, load)` loads at most once per `ttlMs` per key. */
export class TtlCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = load();
    const entry = { at: this.now(), value };
    this.entries.set(key, entry);
    // A failure is not remembered.
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}
