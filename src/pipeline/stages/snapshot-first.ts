/**
 * Snapshot first: when a `snapshot-first` rule matched (the judge's `snapshot` obligation), a
 * snapshot of the target VM is taken after confirmation and before the command runs, under the
 * VM's lock, and recorded as its own record of the turn. A snapshot that cannot be taken (or
 * recorded) stops the command: it is not run. Returns the note for the reply.
 */
import { automaticName, createSnapshot } from '../../libvirt/snapshots.js';
import { messageOf } from '../../libvirt/virsh-shell.js';
import { type Authorized, stop } from '../invocation.js';
import type { TurnRecorder } from './record.js';

export async function snapshotFirst(
  authorized: Authorized,
  recorder: TurnRecorder,
  now: () => Date,
): Promise<string | undefined> {
  const need = authorized.verdict.obligations.snapshot;
  if (!need) return undefined;
  const rules = need.rules.join(', ');
  const what = authorized.command.path.join(' ');
  const { target } = authorized;
  if (target.kind !== 'vm') {
    throw stop(
      'failed',
      `${rules} asks for a snapshot before ${what}, but it acts on no existing VM: not run`,
    );
  }
  const { hv, name: host } = target.host;
  const snapshot = automaticName(authorized.command.path, now());
  try {
    await hv.withDomainLock(target.vm, () =>
      createSnapshot(hv, target.vm, snapshot, `taken by virtbot before '${authorized.canonical}' (${rules})`),
    );
  } catch (error) {
    const why = messageOf(error);
    await recorder
      .note(
        'vm.snapshot.create',
        'failed',
        `snapshot of ${target.vm} on ${host} before ${what} failed: ${why}`,
      )
      .catch(() => undefined);
    throw stop(
      'failed',
      `not run: ${rules} asks for a snapshot of ${target.vm} first, and it failed: ${why}`,
    );
  }
  const detail = `snapshot ${snapshot} of ${target.vm} on ${host} taken before '${authorized.canonical}' (${rules})`;
  try {
    await recorder.note('vm.snapshot.create', 'ok', detail);
  } catch (error) {
    throw stop('failed', `not run: ${detail}, but it could not be recorded (${messageOf(error)})`);
  }
  return `snapshot ${snapshot} of ${target.vm} taken first (${rules})`;
}
