/**
 * Where events go. Those of the config (`events.channels`) always apply; those set up from chat
 * (`events on`) are kept in `dataDir/events.json`, written atomically, and survive a restart.
 */
import { placeKey } from '../core/place.js';
import type { Place } from '../core/types.js';
import { JsonFile } from '../tasks/json-file.js';
import type { EventDesk, Subscription } from './types.js';

export class Subscriptions implements EventDesk {
  private readonly store: JsonFile<{ subscriptions: Subscription[] }>;
  private stored: Subscription[] = [];
  readonly loaded: Promise<void>;

  constructor(
    file: string,
    private readonly configured: () => Subscription[],
    warn: (error: unknown, what: string) => void,
  ) {
    this.store = new JsonFile(file);
    this.loaded = this.store.read({ subscriptions: [] }).then(
      (s) => {
        this.stored = s.subscriptions;
      },
      (error: unknown) => warn(error, `cannot read ${file}: no subscriptions from chat`),
    );
  }

  async list(): Promise<Subscription[]> {
    await this.loaded;
    return this.current();
  }

  /** What applies now (the router asks on every event; empty of chat's until the file is read). */
  current(): Subscription[] {
    return [...this.configured(), ...this.stored];
  }

  async add(subscription: Subscription): Promise<void> {
    await this.loaded;
    const key = placeKey(subscription.place);
    const next = this.stored.filter(
      (s) => !(placeKey(s.place) === key && s.host === subscription.host && s.vm === subscription.vm),
    );
    next.push(subscription);
    await this.store.write({ subscriptions: next });
    this.stored = next;
  }

  async remove(place: Place, filter: { host?: string; vm?: string }): Promise<Subscription[]> {
    await this.loaded;
    const key = placeKey(place);
    const hit = (s: Subscription) =>
      placeKey(s.place) === key &&
      (filter.host === undefined || s.host === filter.host) &&
      (filter.vm === undefined || s.vm === filter.vm);
    const removed = this.stored.filter(hit);
    if (removed.length === 0) return [];
    const next = this.stored.filter((s) => !hit(s));
    await this.store.write({ subscriptions: next });
    this.stored = next;
    return removed;
  }
}
