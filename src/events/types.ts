/**
 * The events virtbot posts in chat, as a small typed interface that any stream of libvirt events
 * can be plugged onto: a `HostEvent` per thing that happened on a host, from an `EventSource`
 * that calls its listeners and can be unsubscribed from. src/events/virsh.ts reads the lines of
 * `virsh event --all --loop --timestamp` into these; a stream with its own types needs only a
 * function from its event to a HostEvent.
 */
import type { Place } from '../core/types.js';

export const EVENT_KINDS = [
  'started',
  'stopped',
  'crashed',
  'suspended',
  'resumed',
  'defined',
  'undefined',
  'device-added',
  'device-removed',
  'host-lost',
  'host-back',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What a subscription posts unless it names its kinds. */
export const DEFAULT_KINDS: readonly EventKind[] = [
  'started',
  'stopped',
  'crashed',
  'device-removed',
  'host-lost',
  'host-back',
];

export interface HostEvent {
  /** The configured host name. */
  host: string;
  /** The domain, for VM events. */
  vm?: string;
  kind: EventKind;
  /** libvirt's detail ("destroyed", "shutdown", "panicked", the device alias, why a host was lost). */
  detail?: string;
  time: Date;
}

export type EventListener = (event: HostEvent) => void;

/** A stream of host events (one per host, or several merged). */
export interface EventSource {
  subscribe(listener: EventListener): () => void;
}

/** Where events go: a place, and which hosts, VMs and kinds. */
export interface Subscription {
  place: Place;
  /** Host glob ('prod-*'); '*' for every host. */
  host: string;
  /** VM glob; '*' for every VM (and host events). */
  vm: string;
  kinds: EventKind[];
  /** Who set it up (a user name or 'config'). */
  by: string;
  since: string;
}

/** The subscriptions, as the `events` commands use them. */
export interface EventDesk {
  list(): Promise<Subscription[]>;
  /** Adds (or replaces the one with the same place, host and VM globs). */
  add(subscription: Subscription): Promise<void>;
  /** Removes those of `place` matching the globs given; returns what was removed. */
  remove(place: Place, filter: { host?: string; vm?: string }): Promise<Subscription[]>;
}
