/**
 * The hypervisors virtbot can reach. Owned by the libvirt layer; commands receive a
 * HostRegistry in their context and know nothing of SSH or virsh processes.
 *
 * PLACEHOLDER CONTRACT: the libvirt layer replaces this with the real registry.
 */
export interface HostRegistry {
  /** Configured host names, in config order. */
  names(): string[];
  /** The default host (the first configured). */
  defaultHost(): string;
  /** Close every session. */
  close(): Promise<void>;
}
