/**
 * Declaring a command, once: its path, typed arguments, constraints, target, permission,
 * whether it is destructive, help and examples. The argument builders carry each argument's
 * value type, so a command body receives `{ vm: string; mac?: string; size?: number }` and needs
 * no `!` assertions or string lookups.
 *
 *   export const nicAdd = defineVmCommand({
 *     path: ['vm', 'nic', 'add'],
 *     args: { vm: arg.vm('the VM').positional().required(), network: arg.network('…') },
 *     target: { vm: 'vm' },
 *     …
 *     async run({ args, ctx }) { … args.network … ctx.hv … },
 *   });
 *
 * The command model knows no hypervisor: the context type of each target kind is supplied by
 * whoever builds the definers (see `commandFactory`).
 */
import type { Constraint } from './constraints.js';
import type { ArgSpec, ArgType, CommandResult, CommandSpec, Example, TargetKind } from './spec.js';

/** One declared argument; `T` is its value's type, `R` whether it is required. */
export interface Arg<T, R extends boolean = false> {
  readonly spec: Omit<ArgSpec, 'name'>;
  /** Phantom fields: they carry the types, never a value. */
  readonly valueType?: T;
  readonly isRequired?: R;
  required(): Arg<T, true>;
  positional(): Arg<T, R>;
}

function build<T, R extends boolean = false>(spec: Omit<ArgSpec, 'name'>): Arg<T, R> {
  return {
    spec,
    required: () => build<T, true>({ ...spec, required: true }),
    positional: () => build<T, R>({ ...spec, positional: true }),
  };
}

const simple =
  <T>(type: ArgType) =>
  (help: string) =>
    build<T>({ type, help });

/** The argument builders, one per argument type. */
export const arg = {
  vm: simple<string>('vm'),
  host: simple<string>('host'),
  network: simple<string>('network'),
  bridge: simple<string>('bridge'),
  pool: simple<string>('pool'),
  mac: simple<string>('mac'),
  name: simple<string>('name'),
  names: simple<string[]>('names'),
  path: simple<string>('path'),
  text: simple<string>('text'),
  bool: simple<boolean>('bool'),
  code: simple<string>('code'),
  channel: simple<string>('channel'),
  /** ISO timestamp of the time given (absolute, or relative to now: 2h, 7d). */
  time: simple<string>('time'),
  /** A size in KiB; `min`/`max` are sizes in KiB too. */
  size: (help: string, bounds: { min?: number; max?: number } = {}) =>
    build<number>({ type: 'size', help, ...bounds }),
  int: (help: string, bounds: { min?: number; max?: number } = {}) =>
    build<number>({ type: 'int', help, ...bounds }),
  choice: <const C extends readonly string[]>(choices: C, help: string) =>
    build<C[number]>({ type: 'enum', help, choices }),
};

// biome-ignore lint/suspicious/noExplicitAny: any argument shape, whatever its value type
export type ArgShapes = Record<string, Arg<any, boolean>>;

type ValueOf<A> = A extends Arg<infer T, boolean> ? T : never;
type RequiredKeys<S extends ArgShapes> = {
  [K in keyof S]: S[K] extends Arg<unknown, true> ? K : never;
}[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] };

/** The bound values of an argument declaration: required ones present, the others optional. */
export type ArgsOf<S extends ArgShapes> = Flatten<
  { [K in RequiredKeys<S>]: ValueOf<S[K]> } & {
    [K in Exclude<keyof S, RequiredKeys<S>>]?: ValueOf<S[K]>;
  }
>;

export interface Declaration<S extends ArgShapes, C> {
  path: readonly string[];
  summary: string;
  args: S;
  constraints?: readonly Constraint[];
  /** Which arguments name the VM and the host (defaults: 'vm' and 'host' when declared). */
  target?: { vm?: keyof S & string; host?: keyof S & string };
  /** Permission name; defaults to the path joined with dots. */
  permission?: string;
  open?: boolean;
  destructive?: boolean;
  /** Changes something on a host (defaults to true for VM commands that are destructive). */
  mutates?: boolean;
  /** The subcommand group a slash command goes in when its own level is full (see CommandSpec). */
  slashGroup?: string;
  /** The argument naming a VM the command makes (judged as vm.create of that name; see CommandSpec). */
  createsVm?: keyof S & string;
  examples: readonly Example[];
  run(input: { args: ArgsOf<S>; ctx: C }): Promise<CommandResult>;
}

/**
 * A definer for one target kind with its context type `C`: `commandFactory<VmContext>('vm')`
 * gives `defineVmCommand`. Curried so that the argument shapes are inferred at each use.
 */
export function commandFactory<C>(kind: TargetKind) {
  return <S extends ArgShapes>(declaration: Declaration<S, C>): CommandSpec => {
    const args: ArgSpec[] = Object.entries(declaration.args).map(([name, a]) => ({ name, ...a.spec }));
    const has = (name: string) => args.some((a) => a.name === name);
    const vm = declaration.target?.vm ?? (has('vm') ? 'vm' : undefined);
    const host = declaration.target?.host ?? (has('host') ? 'host' : undefined);
    if ((kind === 'vm' || kind === 'new-vm') && vm === undefined) {
      throw new Error(`command '${declaration.path.join(' ')}' acts on a VM but declares no VM argument`);
    }
    const destructive = declaration.destructive === true;
    return {
      path: declaration.path,
      summary: declaration.summary,
      args,
      constraints: declaration.constraints ?? [],
      target: {
        kind,
        ...(vm !== undefined && (kind === 'vm' || kind === 'new-vm') ? { vm } : {}),
        ...(host !== undefined && kind !== 'none' ? { host } : {}),
      },
      permission: declaration.permission ?? declaration.path.join('.'),
      open: declaration.open === true,
      destructive,
      mutates: declaration.mutates ?? destructive,
      ...(declaration.slashGroup !== undefined ? { slashGroup: declaration.slashGroup } : {}),
      ...(declaration.createsVm !== undefined ? { createsVm: declaration.createsVm } : {}),
      examples: declaration.examples,
      run: (bound, ctx) => declaration.run({ args: bound as unknown as ArgsOf<S>, ctx: ctx as C }),
    };
  };
}
