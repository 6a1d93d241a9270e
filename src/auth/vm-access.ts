/**
 * Per-VM access: the users and groups named in a VM's `<access>` metadata (virtbot's own element,
 * or Kimchi's for VMs Kimchi made). The target stage reads the list from the VM's host and hands
 * it to the judge with the rest of the invocation; the auth layer itself never touches a host.
 */
export interface VmAccessList {
  users: readonly string[];
  groups: readonly string[];
}
