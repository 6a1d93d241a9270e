/**
 * Rules that can never apply, because another rule always decides in their place. Written against
 * the rule semantics in which obligations accumulate:
 *
 * - A rule is *decisive* (allow, deny) or an *obligation* (require-role, require-approval).
 * - Of the decisive rules that match a request, the most specific decides: most conditions, then
 *   the longest literal text (the authorizer's weight); on a tie, deny. If it is a deny, the request
 *   is denied, whatever else matched ("deny wins").
 * - Otherwise every matching obligation applies (a require-role and a require-approval from
 *   different rules both apply), on top of the grant.
 *
 * So a rule R never applies when another rule D matches every request R matches ("D covers R")
 * and either
 * 1. R and D are decisive and D outranks R (more specific; or as specific and D is a deny while R
 *    is an allow; or the same effect as specific and D comes first): R never decides; or
 * 2. R is an obligation and D is a deny that no allow rule could override on R's requests (no allow
 *    more specific than D that might match any of them): R's requests are always denied.
 *
 * "Covers" is judged soundly but not completely: a rule reported here really never applies; a
 * subtle one may go unreported (glob inclusion on `*` and `?` is exact; argument conditions
 * cover each other only when equal or, for plain globs, by glob inclusion).
 */
import { compareWeights, type Rule, ruleWeight } from '../auth/rules.js';

// The authorizer's own weighing: a shadow found here is one the judge really has.
type Weight = [number, number];

export interface Shadowed {
  /** The rule that never applies (0-based index in `rules`). */
  index: number;
  /** The rule that always decides in its place. */
  by: number;
  reason: string;
}

const DECISIVE = new Set<Rule['effect']>(['allow', 'deny']);

export function shadowedRules(rules: readonly Rule[]): Shadowed[] {
  const out: Shadowed[] = [];
  const weights = rules.map(ruleWeight);
  rules.forEach((rule, index) => {
    for (let by = 0; by < rules.length; by++) {
      if (by === index) continue;
      const other = rules[by]!;
      if (!covers(other, rule)) continue;
      const reason = DECISIVE.has(rule.effect)
        ? decisiveShadow(rule, index, weights[index]!, other, by, weights[by]!)
        : obligationShadow(rule, other, by, weights[by]!, rules, weights);
      if (reason !== undefined) {
        out.push({ index, by, reason });
        return;
      }
    }
  });
  return out;
}

function decisiveShadow(
  rule: Rule,
  index: number,
  w: Weight,
  other: Rule,
  by: number,
  ow: Weight,
): string | undefined {
  if (!DECISIVE.has(other.effect)) return undefined;
  const order = compareWeights(ow, w);
  const outranks =
    order > 0 ||
    (order === 0 && other.effect === 'deny' && rule.effect === 'allow') ||
    (order === 0 && other.effect === rule.effect && by < index);
  if (!outranks) return undefined;
  const why =
    order > 0
      ? 'and is more specific'
      : other.effect === rule.effect
        ? 'just as specifically'
        : 'and deny wins a tie';
  return `${label(other, by)} matches every request this rule matches ${why}, so this ${rule.effect} never decides`;
}

function obligationShadow(
  _rule: Rule,
  other: Rule,
  by: number,
  ow: Weight,
  rules: readonly Rule[],
  weights: readonly Weight[],
): string | undefined {
  if (other.effect !== 'deny') return undefined;
  const rescuer = rules.findIndex(
    (r, i) => r.effect === 'allow' && compareWeights(weights[i]!, ow) > 0 && mayOverlap(r, _rule),
  );
  if (rescuer !== -1) return undefined;
  return `${label(other, by)} denies every request this rule matches, and no more specific allow overrides it`;
}

function label(rule: Rule, index: number): string {
  return rule.name !== undefined ? `rule '${rule.name}' (rules.${index})` : `rules.${index}`;
}

// ------------------------------------------------------------------ coverage

/** True when every request `inner` matches is matched by `outer` too. */
export function covers(outer: Rule, inner: Rule): boolean {
  if (outer.permission !== undefined && outer.permission !== '*') {
    if (inner.permission === undefined || !globCovers(outer.permission, inner.permission)) return false;
  }
  if (!optionalGlobCovers(outer.host, inner.host)) return false;
  if (!optionalGlobCovers(outer.vm, inner.vm)) return false;
  if (outer.channels !== undefined) {
    if (inner.channels === undefined) return false;
    if (!inner.channels.every((i) => outer.channels!.some((o) => placeCovers(o, i)))) return false;
  }
  if (outer.notChannels !== undefined) {
    // inner must stay out of every place outer stays out of.
    if (inner.notChannels === undefined) return false;
    if (!outer.notChannels.every((o) => inner.notChannels!.some((i) => placeCovers(i, o)))) return false;
  }
  for (const [name, condition] of Object.entries(outer.args ?? {})) {
    const mine = inner.args?.[name];
    if (mine === undefined) return false;
    if (mine === condition) continue;
    const plain = (v: unknown): v is string => typeof v === 'string' && !/^[<>=]/.test(v);
    if (!(plain(condition) && plain(mine) && globCovers(condition.toLowerCase(), mine.toLowerCase())))
      return false;
  }
  return true;
}

function optionalGlobCovers(outer: string | undefined, inner: string | undefined): boolean {
  if (outer === undefined) return true;
  return inner !== undefined && globCovers(outer.toLowerCase(), inner.toLowerCase());
}

function placeCovers(outer: string, inner: string): boolean {
  const o = outer.toLowerCase();
  const i = inner.toLowerCase();
  if (o === 'private' || i === 'private') return o === i;
  return globCovers(o, i);
}

/**
 * True when every text matched by glob `inner` is matched by glob `outer` (`*` any run, `?` one
 * character): `outer`'s `*` takes any run of `inner`'s symbols, its `?` one literal or `?`, its
 * literals only the same literal.
 */
export function globCovers(outer: string, inner: string): boolean {
  const memo = new Map<number, boolean>();
  const walk = (i: number, j: number): boolean => {
    const key = i * (inner.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === outer.length) result = j === inner.length;
    else if (outer[i] === '*') result = walk(i + 1, j) || (j < inner.length && walk(i, j + 1));
    else if (j === inner.length) result = false;
    else if (outer[i] === '?') result = inner[j] !== '*' && walk(i + 1, j + 1);
    else result = inner[j] === outer[i] && walk(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return walk(0, 0);
}

/** False only when the two rules provably match no request in common. */
function mayOverlap(a: Rule, b: Rule): boolean {
  const pairs: [string | undefined, string | undefined, boolean][] = [
    [a.permission, b.permission, false],
    [a.host, b.host, true],
    [a.vm, b.vm, true],
  ];
  return pairs.every(([x, y, fold]) => {
    if (x === undefined || y === undefined) return true;
    return globsMayOverlap(fold ? x.toLowerCase() : x, fold ? y.toLowerCase() : y);
  });
}

/** Two globs are disjoint when their literal prefixes or literal suffixes disagree. */
function globsMayOverlap(a: string, b: string): boolean {
  const prefix = (g: string) => g.slice(0, g.search(/[*?]|$/));
  const suffix = (g: string) => {
    const last = Math.max(g.lastIndexOf('*'), g.lastIndexOf('?'));
    return last === -1 ? g : g.slice(last + 1);
  };
  const [pa, pb] = [prefix(a), prefix(b)];
  if (!(pa.startsWith(pb) || pb.startsWith(pa))) return false;
  const [sa, sb] = [suffix(a), suffix(b)];
  if (!(sa.endsWith(sb) || sb.endsWith(sa))) return false;
  if (!/[*?]/.test(a) && !/[*?]/.test(b)) return a === b;
  return true;
}
