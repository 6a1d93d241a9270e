/**
 * What the VM commands say about a change once the libvirt layer has made it (see
 * src/libvirt/changes.ts and device-change.ts): done, or still in progress on the host — then
 * the reply says so and the command's result carries when and how it settles, which the
 * pipeline records against the command's intent and says in the same place.
 */
import type { CommandResult } from '../src/command/spec.js';
import { type Applied, doneOrChecked } from '../src/libvirt/changes.js';

/** A change checked after a dropped connection gets a note in the reply. */
export async function doneOrCheckedNote(
  change: () => Promise<unknown>,
  check: () => Promise<boolean>,
): Promise<string> {
  return (await doneOrChecked(change, check))
    ? ' (the connection dropped mid-way; checked afterwards: done)'
    : '';
}

/** The follow-up of an in-progress change, for `CommandResult.settles`; nothing for a done one. */
export function settlesOf(applied: Applied): Pick<CommandResult, 'settles'> {
  if (applied.state !== 'in-progress' || !applied.settled) return {};
  return {
    settles: applied.settled.then((settled) => ({
      outcome: settled.state === 'done' ? 'ok' : settled.state,
      message: settled.message,
    })),
  };
}
