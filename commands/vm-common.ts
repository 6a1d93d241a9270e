/**
 * What the VM, host, network, template and version commands share: the VM and host arguments,
 * and small formatting helpers. Finding hosts and VMs is not here: the pipeline's target stage
 * binds every command to its host before it runs.
 */
import { formatKiB } from '../src/grammar/types.js';
import { arg } from '../src/pipeline/define.js';

export { formatKiB };

/** The VM a command acts on (found on every host, or on `host=`). */
export const vmArg = () => arg.vm('the VM (libvirt domain) name').positional().required();
/** Which host, when the VM's name is on more than one, or for a host command. */
export const hostArg = (help = 'the host (default: wherever the VM is)') => arg.host(help);

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
