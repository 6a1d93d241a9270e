/**
 * Which NIC model and disk bus a new device gets (Kimchi scrum 2014-04-16): what the person
 * names; else what virtbot stored in the VM's metadata when it made the VM (also after every
 * NIC was removed); else what the guest OS recorded in metadata implies; else what the VM's
 * existing devices use; else the arch's default for an unknown guest (rtl8139 when even the
 * arch is unknown).
 */
import type { DomainView } from './domain.js';
import { deviceDefaults } from './os-defaults.js';

export interface Choice {
  value: string;
  /** Why, for the record: "named", "stored in metadata", "debian 12 on x86_64", … */
  reason: string;
}

export const NIC_MODELS = [
  'virtio',
  'e1000',
  'e1000e',
  'rtl8139',
  'spapr-vlan',
  'vmxnet3',
  'ne2k_pci',
  'pcnet',
] as const;
export const DISK_BUSES = ['virtio', 'scsi', 'sata', 'ide', 'usb'] as const;

export function chooseNicModel(view: DomainView, named?: string): Choice {
  if (named !== undefined) return { value: named, reason: 'named' };
  const meta = view.metadata;
  if (meta.nicModel) return { value: meta.nicModel, reason: `stored in ${meta.source} metadata` };
  if (meta.distro) {
    return {
      value: deviceDefaults(view.arch, meta.distro, meta.version).nicModel,
      reason: `${meta.distro} ${meta.version ?? ''} on ${view.arch}`.replace('  ', ' '),
    };
  }
  const existing = view.nics.find((n) => n.model)?.model;
  if (existing) return { value: existing, reason: 'same as the VM’s other NICs' };
  return {
    value: deviceDefaults(view.arch).nicModel,
    reason: `default for an unknown guest on ${view.arch}`,
  };
}

export function chooseDiskBus(view: DomainView, named?: string): Choice {
  if (named !== undefined) return { value: named, reason: 'named' };
  const meta = view.metadata;
  if (meta.diskBus) return { value: meta.diskBus, reason: `stored in ${meta.source} metadata` };
  if (meta.distro) {
    return {
      value: deviceDefaults(view.arch, meta.distro, meta.version).diskBus,
      reason: `${meta.distro} ${meta.version ?? ''} on ${view.arch}`.replace('  ', ' '),
    };
  }
  const existing = view.disks.find((d) => d.device === 'disk' && d.bus)?.bus;
  if (existing) return { value: existing, reason: 'same as the VM’s other disks' };
  return { value: deviceDefaults(view.arch).diskBus, reason: `default for an unknown guest on ${view.arch}` };
}

export function cdromBus(view: DomainView): string {
  return deviceDefaults(view.arch, view.metadata.distro, view.metadata.version).cdromBus;
}

/** How many devices a bus takes without adding controllers (as virtbot configures VMs). */
export const BUS_LIMITS: Record<string, number> = { ide: 4, sata: 6, scsi: 7, virtio: 24, usb: 8, xen: 16 };

/** Buses whose disks can be hotplugged into a running VM. */
export const HOTPLUG_BUSES = new Set(['virtio', 'scsi', 'usb']);
