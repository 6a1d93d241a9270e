/**
 * The config's policy rules: which ones match a request (command, target host and VM, place,
 * arguments), how specific each is, and how they are named in answers. What the matching rules
 * *mean* together is decided in `judge.ts`.
 */
import type { ArgType } from '../command/spec.js';
import type { Config } from '../config/schema.js';
import type { Place } from '../core/types.js';
import { parseSize } from '../grammar/types.js';
import { globToRegExp, specificity } from './glob.js';

export type Rule = Config['rules'][number];

/** What a rule looks at. */
export interface RuleSubject {
  permission: string;
  place: Place;
  host?: string;
  vm?: string;
  args: Readonly<Record<string, unknown>>;
  argTypes: Readonly<Record<string, ArgType>>;
}

export function ruleLabel(rule: Rule, index: number): string {
  const name = rule.name ?? `#${index + 1}`;
  return `rule '${name}' (${describeRule(rule)})`;
}

/** `vm.* on host prod-* in #ops with network=prod-*` */
export function describeRule(rule: Rule): string {
  const parts = [rule.permission ?? '*'];
  if (rule.host !== undefined) parts.push(`on host ${rule.host}`);
  if (rule.vm !== undefined) parts.push(`on VM ${rule.vm}`);
  if (rule.channels !== undefined) parts.push(`in ${rule.channels.join(', ')}`);
  if (rule.notChannels !== undefined) parts.push(`outside ${rule.notChannels.join(', ')}`);
  if (rule.args !== undefined) {
    parts.push(
      `with ${Object.entries(rule.args)
        .map(([key, value]) =>
          typeof value === 'string' && /^[<>=]/.test(value) ? `${key}${value}` : `${key}=${value}`,
        )
        .join(' ')}`,
    );
  }
  return parts.join(' ');
}

function globMatches(glob: string, value: string): boolean {
  return globToRegExp(glob, 'i').test(value);
}

/**
 * A place glob matches a channel by its id or its name: `#kimchi-ops` matches IRC's `#kimchi-ops`
 * and Discord's channel 1234… labelled `kimchi-ops`. `private` matches private conversations.
 */
export function placeMatches(globs: readonly string[], place: Place): boolean {
  const names = [place.channel];
  if (place.label !== undefined) names.push(place.label, `#${place.label.replace(/^#/, '')}`);
  return globs.some((glob) =>
    glob.toLowerCase() === 'private'
      ? place.private
      : !place.private && names.some((name) => globMatches(glob, name)),
  );
}

export function ruleMatches(rule: Rule, subject: RuleSubject): boolean {
  if (rule.permission !== undefined && !globToRegExp(rule.permission).test(subject.permission)) return false;
  if (rule.host !== undefined && (subject.host === undefined || !globMatches(rule.host, subject.host)))
    return false;
  if (rule.vm !== undefined && (subject.vm === undefined || !globMatches(rule.vm, subject.vm))) return false;
  if (rule.channels !== undefined && !placeMatches(rule.channels, subject.place)) return false;
  if (rule.notChannels !== undefined && placeMatches(rule.notChannels, subject.place)) return false;
  for (const [name, condition] of Object.entries(rule.args ?? {})) {
    if (!argMatches(condition, subject.args[name], subject.argTypes[name])) return false;
  }
  return true;
}

const COMPARISON = /^(<=|>=|<|>|=)\s*(\S.*)$/;

export function argMatches(condition: string | number | boolean, value: unknown, type?: ArgType): boolean {
  if (value === undefined) return false;
  if (typeof condition === 'boolean') return value === condition;
  if (typeof condition === 'number') return typeof value === 'number' && value === condition;
  const comparison = COMPARISON.exec(condition);
  if (comparison && typeof value === 'number') {
    const limit = comparisonValue(comparison[2]!, type);
    if (limit === undefined) return false;
    switch (comparison[1]) {
      case '<':
        return value < limit;
      case '<=':
        return value <= limit;
      case '>':
        return value > limit;
      case '>=':
        return value >= limit;
      default:
        return value === limit;
    }
  }
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => globMatches(condition, String(v)));
}

function comparisonValue(text: string, type?: ArgType): number | undefined {
  try {
    if (type === 'size' || !/^-?\d+(\.\d+)?$/.test(text)) return parseSize(text);
  } catch {
    return undefined;
  }
  return Number(text);
}

/** How specific a rule is: more conditions first, then more literal text. */
export function ruleWeight(rule: Rule): [number, number] {
  let conditions = 0;
  let literal = 0;
  const count = (glob: string | undefined) => {
    if (glob === undefined) return;
    conditions++;
    literal += specificity(glob);
  };
  if (rule.permission !== undefined && rule.permission !== '*') count(rule.permission);
  count(rule.host);
  count(rule.vm);
  if (rule.channels !== undefined) count(rule.channels.join(''));
  if (rule.notChannels !== undefined) count(rule.notChannels.join(''));
  for (const value of Object.values(rule.args ?? {})) count(String(value));
  return [conditions, literal];
}

export function compareWeights(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
