/**
 * Per-VM access: the users and groups named in a VM's `<access>` metadata (virtbot's own element,
 * or Kimchi's for VMs Kimchi made). The libvirt layer reads domains; the authorizer needs only
 * this small lookup, injected, so that it can be tested without a hypervisor and fails closed
 * when the lookup does.
 */
import type { HostRegistry } from '../libvirt/hosts.js';

export interface VmAccessList {
  users: string[];
  groups: string[];
}

export interface VmAccessLookup {
  /** The VM's access list; rejects when the VM or its metadata cannot be read (the caller denies). */
  usersAndGroups(host: string, vm: string): Promise<VmAccessList>;
}

/** The lookup over the hypervisors: the domain's persistent definition, as the libvirt layer reads it. */
export function hostRegistryVmAccess(hosts: HostRegistry): VmAccessLookup {
  return {
    async usersAndGroups(host, vm) {
      const view = await hosts.get(host).domain(vm, { inactive: true });
      return { users: [...view.metadata.users], groups: [...view.metadata.groups] };
    },
  };
}
