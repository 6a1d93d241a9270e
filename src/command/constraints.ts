/**
 * Rules between a command's arguments, declared with the command and checked when its arguments
 * are bound: before anything is located, authorized or run. Help, slash-command descriptions and
 * the docs describe them from the same declaration.
 */
import type { Args } from './spec.js';

export type Constraint =
  /** At most one of these may be given. */
  | { kind: 'not-both'; args: readonly string[] }
  /** Exactly one of these must be given. */
  | { kind: 'exactly-one'; args: readonly string[] }
  /** At least one of these must be given. */
  | { kind: 'at-least-one'; args: readonly string[] }
  /** When `arg` is given, every one of `needs` must be given too. */
  | { kind: 'requires'; arg: string; needs: readonly string[] };

export const notBoth = (...args: string[]): Constraint => ({ kind: 'not-both', args });
export const exactlyOne = (...args: string[]): Constraint => ({ kind: 'exactly-one', args });
export const atLeastOne = (...args: string[]): Constraint => ({ kind: 'at-least-one', args });
export const requires = (arg: string, ...needs: string[]): Constraint => ({ kind: 'requires', arg, needs });

const named = (args: readonly string[]) => args.map((a) => `${a}=`).join(', ');
const alternatives = (args: readonly string[]) => args.map((a) => `${a}=`).join(' or ');

/** The rule in words, for help and docs: "give network= or bridge=, not both". */
export function describeConstraint(constraint: Constraint): string {
  switch (constraint.kind) {
    case 'not-both':
      return `give ${alternatives(constraint.args)}, not both`;
    case 'exactly-one':
      return `give exactly one of ${named(constraint.args)}`;
    case 'at-least-one':
      return `give at least one of ${named(constraint.args)}`;
    case 'requires':
      return `${constraint.arg}= needs ${named(constraint.needs)}`;
  }
}

/** The first constraint the arguments break, in words; undefined when all hold. */
export function brokenConstraint(constraints: readonly Constraint[], args: Args): string | undefined {
  const given = (name: string) => args[name] !== undefined;
  for (const constraint of constraints) {
    switch (constraint.kind) {
      case 'not-both':
        if (constraint.args.filter(given).length > 1) return describeConstraint(constraint);
        break;
      case 'exactly-one':
        if (constraint.args.filter(given).length !== 1) return describeConstraint(constraint);
        break;
      case 'at-least-one':
        if (!constraint.args.some(given)) return describeConstraint(constraint);
        break;
      case 'requires':
        if (given(constraint.arg) && !constraint.needs.every(given)) return describeConstraint(constraint);
        break;
    }
  }
  return undefined;
}
