/** Notes for replies about changes whose connection dropped mid-way (see src/libvirt/changes.ts). */
import { doneOrChecked } from '../src/libvirt/changes.js';

/** A change checked after a dropped connection gets a note in the reply. */
export async function doneOrCheckedNote(
  change: () => Promise<unknown>,
  check: () => Promise<boolean>,
): Promise<string> {
  return (await doneOrChecked(change, check))
    ? ' (the connection dropped mid-way; checked afterwards: done)'
    : '';
}
