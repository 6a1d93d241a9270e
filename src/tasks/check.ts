/** What a host shows now about a task whose outcome is unknown (virtbot stopped while it ran). */
import type { HostRegistry } from '../libvirt/hosts.js';
import { listSnapshots } from '../libvirt/snapshots.js';
import type { TaskCheck } from './runner.js';

export async function checkTask(hosts: HostRegistry, check: TaskCheck): Promise<string> {
  if (!hosts.names().includes(check.host)) return `host ${check.host} is no longer configured`;
  const hv = hosts.get(check.host);
  if (!(await hv.exists(check.vm))) return `there is no VM ${check.vm} on ${check.host}`;
  const state = await hv.domainState(check.vm);
  switch (check.kind) {
    case 'vm-exists':
    case 'vm-state':
      return `${check.vm} exists on ${check.host} (${state})`;
    case 'snapshot': {
      const snapshots = await listSnapshots(hv, check.vm);
      const found = snapshots.find((s) => s.name === check.snapshot);
      return found
        ? `${check.vm} on ${check.host} has snapshot ${check.snapshot}${found.current ? ' (current)' : ''}; the VM is ${state}`
        : `${check.vm} on ${check.host} has no snapshot ${check.snapshot}; the VM is ${state}`;
    }
  }
}
