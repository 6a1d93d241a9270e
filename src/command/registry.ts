/**
 * All declared commands, indexed for longest-match resolution of multi-word paths
 * (`vm nic add` before `vm nic`), with per-group word aliases (`vm iface` = `vm nic`).
 */
import { showToken } from '../grammar/show.js';
import { closest } from '../grammar/suggest.js';
import type { Token } from '../grammar/tokenize.js';
import type { CommandGroup, CommandSpec } from './spec.js';

/** Aliases every group understands. */
const COMMON_ALIASES: Record<string, string> = {
  rm: 'remove',
  del: 'delete',
  ls: 'list',
  show: 'info',
  new: 'create',
};

const EMPTY: ReadonlySet<string> = new Set();

export class ResolveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResolveError';
  }
}

export interface Resolution {
  spec: CommandSpec;
  /** How many leading tokens were path words. */
  consumed: number;
}

export class CommandRegistry {
  private readonly byPath = new Map<string, CommandSpec>();
  private readonly groups = new Map<string, CommandGroup>();
  /** Path prefix ('' for none, 'vm', 'vm nic') -> the words that may follow it: resolution's hot path. */
  private readonly nextWords = new Map<string, Set<string>>();
  /** The longest declared path: resolution never looks at more words than this. */
  private depth = 0;

  constructor(groups: CommandGroup[] = []) {
    for (const group of groups) this.register(group);
  }

  register(group: CommandGroup): void {
    if (this.groups.has(group.name)) throw new Error(`command group '${group.name}' registered twice`);
    this.groups.set(group.name, group);
    for (const spec of group.commands) {
      const key = spec.path.join(' ');
      if (this.byPath.has(key)) throw new Error(`command '${key}' declared twice`);
      if (spec.path[0] !== group.name)
        throw new Error(`command '${key}' is not under its group '${group.name}'`);
      this.byPath.set(key, spec);
      this.depth = Math.max(this.depth, spec.path.length);
      spec.path.forEach((word, i) => {
        const prefix = spec.path.slice(0, i).join(' ');
        const words = this.nextWords.get(prefix) ?? new Set<string>();
        words.add(word);
        this.nextWords.set(prefix, words);
      });
    }
  }

  all(): CommandSpec[] {
    return [...this.byPath.values()];
  }

  allGroups(): CommandGroup[] {
    return [...this.groups.values()];
  }

  group(name: string): CommandGroup | undefined {
    return this.groups.get(name.toLowerCase());
  }

  get(path: string): CommandSpec | undefined {
    return this.byPath.get(path);
  }

  /** A structured command's declaration, by its exact path. */
  byWords(path: readonly string[]): CommandSpec {
    const spec = this.byPath.get(path.join(' '));
    if (!spec) throw new ResolveError(`unknown command ${showToken(path.join(' '))} (try 'help')`);
    return spec;
  }

  /** Commands whose path starts with the given words. */
  under(prefix: string[]): CommandSpec[] {
    return this.all().filter((spec) => prefix.every((word, i) => spec.path[i] === word));
  }

  /**
   * Canonical path words for the leading words of a line. A word is taken literally when some
   * declared path continues with it; otherwise its alias (group's, then common) is tried.
   */
  canonicalPrefix(words: string[]): string[] {
    const out: string[] = [];
    let group: CommandGroup | undefined;
    for (const typed of words) {
      const word = typed.toLowerCase();
      const next = this.nextWords.get(out.join(' ')) ?? EMPTY;
      const alias = group?.aliases?.[word] ?? COMMON_ALIASES[word];
      out.push(!next.has(word) && alias !== undefined && next.has(alias) ? alias : word);
      if (out.length === 1) group = this.groups.get(out[0]!);
    }
    return out;
  }

  /**
   * Longest match of the leading plain tokens against the declared paths. Only as many words as
   * the longest path are looked at, so a line of 40 000 words resolves as fast as one of four.
   */
  resolve(tokens: readonly Token[]): Resolution {
    const words: string[] = [];
    for (const token of tokens) {
      if (words.length >= this.depth) break;
      if (token.quoted || token.key !== undefined || token.flag !== undefined) break;
      words.push(token.value);
    }
    if (words.length === 0) throw new ResolveError("no command given — try 'help'");
    const canonical = this.canonicalPrefix(words);
    for (let n = canonical.length; n > 0; n--) {
      const spec = this.byPath.get(canonical.slice(0, n).join(' '));
      if (spec) return { spec, consumed: n };
    }
    throw new ResolveError(this.explainUnknown(canonical, words));
  }

  private explainUnknown(canonical: string[], typed: string[]): string {
    // The longest prefix that names a group or part of a path: "vm nic" is incomplete, not unknown.
    for (let n = Math.min(canonical.length, 3); n > 0; n--) {
      const prefix = canonical.slice(0, n);
      const below = this.under(prefix);
      if (below.length === 0) continue;
      const next = typed[n];
      const choices = [...new Set(below.map((s) => s.path[n]).filter((w): w is string => w !== undefined))];
      if (next !== undefined) {
        const guess = closest(next, choices);
        const suggestion = guess ? ` — did you mean '${[...prefix, guess].join(' ')}'?` : '';
        return `unknown command ${showToken([...prefix, next].join(' '))}${suggestion} (try 'help ${prefix.join(' ')}')`;
      }
      return `'${prefix.join(' ')}' needs a subcommand: ${choices.join(', ')} (try 'help ${prefix.join(' ')}')`;
    }
    const first = typed[0]!;
    const guess = closest(first, this.groups.keys());
    const suggestion = guess ? ` — did you mean '${guess}'?` : '';
    return `unknown command ${showToken(first)}${suggestion} (try 'help')`;
  }
}
