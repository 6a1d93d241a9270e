/**
 * The definers commands are written with, one per target kind, each giving its body the context
 * of that kind (see context.ts). `arg` and the constraint helpers come along, so a command module
 * imports its whole vocabulary from here.
 */
import { commandFactory } from '../command/define.js';
import type { CommandContext, FleetContext, HostContext, VmContext } from './context.js';

export { atLeastOne, exactlyOne, notBoth, requires } from '../command/constraints.js';
export { type ArgsOf, arg } from '../command/define.js';
export type { CommandContext, FleetContext, HostContext, VmContext } from './context.js';

/** A command that acts on no host (help, history, confirm, …). */
export const defineCommand = commandFactory<CommandContext>('none');
/** A command on one host: `host=`, or the first configured one. */
export const defineHostCommand = commandFactory<HostContext>('host');
/** A fan-out over every host the asker may act on (or the `host=` one). */
export const defineFleetCommand = commandFactory<FleetContext>('hosts');
/** A command on an existing VM, found by name on every host (or on `host=`). */
export const defineVmCommand = commandFactory<VmContext>('vm');
/** A command that creates a VM: its name must be free everywhere; `host=` or the first host. */
export const defineNewVmCommand = commandFactory<VmContext>('new-vm');
