/**
 * The chat events' source over the libvirt layer's streams: every configured host's
 * `Hypervisor.events` (one long-lived `virsh event` per host, with host-lost / host-back), each
 * libvirt event mapped to a HostEvent of src/events/types.ts. Events chat does not post (reboot,
 * tray changes, job and metadata events, stream gaps) are left out.
 */
import type { HostEvent as LibvirtEvent } from '../libvirt/events.js';
import type { HostRegistry } from '../libvirt/hosts.js';
import type { EventSource, HostEvent } from './types.js';
import { LIFECYCLE } from './virsh.js';

export function toChatEvent(host: string, event: LibvirtEvent): HostEvent | undefined {
  switch (event.type) {
    case 'lifecycle': {
      let kind = LIFECYCLE[event.event.toLowerCase()];
      // A guest that stopped because it crashed is a crash, whatever the type says.
      if (kind === 'stopped' && /^crashed\b/i.test(event.detail)) kind = 'crashed';
      if (kind === undefined) return undefined;
      const out: HostEvent = { host, vm: event.domain, kind, time: event.time };
      if (event.detail !== '') out.detail = event.detail.toLowerCase();
      return out;
    }
    case 'device-added':
    case 'device-removed':
      return { host, vm: event.domain, kind: event.type, detail: event.alias, time: event.time };
    case 'host-lost':
      return { host, kind: 'host-lost', detail: event.reason, time: event.time };
    case 'host-back':
      return { host, kind: 'host-back', time: event.time };
    default:
      return undefined;
  }
}

/** One source for every configured host's stream (streams start with the hosts' connections). */
export function hostEventSource(hosts: HostRegistry): EventSource {
  return {
    subscribe(listener) {
      const stops = hosts.names().map((name) =>
        hosts.get(name).events.subscribe((event) => {
          const mapped = toChatEvent(name, event);
          if (mapped) listener(mapped);
        }),
      );
      return () => {
        for (const stop of stops) stop();
      };
    },
  };
}
