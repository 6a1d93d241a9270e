/**
 * Several `virtbot run` processes on one config and one PostgreSQL (`store.postgres`): each chat
 * connection is held by exactly one of them (a lease, src/store/postgres/lease.ts). The holder
 * connects, joins, identifies and continues the connection's open meetings from the shared
 * journals; the others wait and take over when it dies or gives the connection up. Every line
 * heard is claimed once before it is handled (src/store/postgres/claim.ts), and the replies of a
 * holder that lost its lease meanwhile are dropped, so that no command is answered twice.
 *
 * This module ties leases to transports by their Transport interface only (start, stop, send):
 * the transports know nothing of leases or of PostgreSQL.
 */

import type pg from 'pg';
import type { InboundMessage, Place, Reply } from '../core/types.js';
import { ClaimKeys, claim, markAnswered, pruneClaims, takeOrphans } from '../store/postgres/claim.js';
import { ConnectionLease } from '../store/postgres/lease.js';
import type { MessageHandler, Transport, TransportLogger } from '../transports/transport.js';

export interface SharedConnectionsOptions {
  pool: pg.Pool;
  instance: string;
  checkMs: number;
  logger: TransportLogger;
  /** Restores the open meetings whose place key starts with the prefix (from the shared journals). */
  resumeMeetings(prefix: string): Promise<unknown>;
  /** Forgets them here (the next holder continues them). */
  releaseMeetings(prefix: string): unknown;
  /** Resolves when a started transport can speak in its places (joined), or soon after. */
  ready?(transport: Transport): Promise<void>;
}

interface Held {
  transport: Transport;
  lease: ConnectionLease;
}

const STORE_DOWN: Reply = {
  text: 'not run: the shared store (PostgreSQL) cannot be reached; try again in a moment',
  kind: 'error',
};

export class SharedConnections {
  private readonly byName = new Map<string, Held>();
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(private readonly options: SharedConnectionsOptions) {
    // Old claims go now and then; any instance may do it.
    this.pruneTimer = setInterval(() => void pruneClaims(options.pool).catch(() => undefined), 3_600_000);
    this.pruneTimer.unref();
  }

  get instance(): string {
    return this.options.instance;
  }

  /** True while this instance holds the connection (may speak on it). */
  holds(connection: string): boolean {
    return this.byName.get(connection)?.lease.holding ?? false;
  }

  /**
   * The handler a transport of `connection` is built with: claims each line first (fail closed:
   * a line that cannot be claimed is not handled), and keeps the replies of a holder that lost
   * its lease while handling (its successor tells the sender).
   */
  claimed(connection: string, handler: MessageHandler): MessageHandler {
    const keys = new ClaimKeys(connection);
    return async (msg: InboundMessage) => {
      const held = this.byName.get(connection);
      const epoch = held?.lease.epoch;
      if (!held || epoch === undefined) return [];
      const key = keys.key(msg);
      const who = { connection, holder: this.options.instance, epoch };
      let ours: boolean;
      try {
        ours = await claim(this.options.pool, who, key, msg);
      } catch (error) {
        this.options.logger.error(
          { connection, err: String(error) },
          'a line could not be claimed: not handled',
        );
        return msg.addressed ? [STORE_DOWN] : [];
      }
      if (!ours) {
        this.options.logger.info(
          { connection, key },
          'a line claimed elsewhere (or after the lease ran out): skipped',
        );
        return [];
      }
      const replies = await handler(msg);
      if (held.lease.epoch !== epoch) {
        this.options.logger.warn(
          { connection },
          'the lease was lost while handling a line: its replies are dropped',
        );
        return [];
      }
      // Answered once the replies are on their way out, not merely queued (an IRC channel is
      // paced): a holder killed with replies still queued leaves the claim open, and its
      // successor tells the sender (tellOrphans) instead of the line going unanswered.
      const transport = held.transport;
      setImmediate(() => {
        void (async () => {
          await transport.flushed?.();
          await markAnswered(this.options.pool, key);
        })().catch((error: unknown) =>
          this.options.logger.warn(
            { connection, err: String(error) },
            'a claim could not be marked answered',
          ),
        );
      });
      return replies;
    };
  }

  /** Puts a transport under its connection's lease: it is started when the lease is taken. */
  add(transport: Transport): void {
    if (this.byName.has(transport.name)) return;
    const name = transport.name;
    const prefix = `${name}:`;
    const log = this.options.logger;
    const lease: ConnectionLease = new ConnectionLease({
      pool: this.options.pool,
      name,
      holder: this.options.instance,
      checkMs: this.options.checkMs,
      onAcquired: async (epoch) => {
        log.info({ transport: name, epoch, instance: this.options.instance }, 'took the connection');
        // The meetings first: the first line heard after joining belongs to them.
        await this.options.resumeMeetings(prefix);
        // Not awaited: connecting may take long (and retries), the lease must be renewed meanwhile.
        void transport.start().then(
          async () => {
            log.info({ transport: name }, 'connected');
            await this.tellOrphans(transport, lease, epoch);
          },
          (error: unknown) =>
            log.error(
              { transport: name, err: String(error) },
              'could not connect; retrying in the background',
            ),
        );
      },
      onLost: async (reason) => {
        log.warn({ transport: name, reason }, 'gave the connection up');
        await transport.stop();
        this.options.releaseMeetings(prefix);
      },
      onError: (message) => log.warn({ transport: name }, message),
    });
    this.byName.set(name, { transport, lease });
    lease.start();
  }

  /** Takes a transport out (removed from the config): gives its lease up and disconnects. */
  async remove(transport: Transport): Promise<void> {
    const held = this.byName.get(transport.name);
    if (!held) return;
    this.byName.delete(transport.name);
    await held.lease.stop();
  }

  /** Stops every lease: each transport disconnects, then its row goes (a follower takes over at once). */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await Promise.allSettled([...this.byName.values()].map((h) => h.lease.stop()));
    this.byName.clear();
    await this.options.pool.end().catch(() => undefined);
  }

  /** Says something where this instance holds the connection; refuses elsewhere (fenced). */
  async send(place: Place, replies: Reply[]): Promise<void> {
    const name = `${place.transport}:${place.network}`;
    const held = this.byName.get(name);
    if (!held?.transport.send) throw new Error(`no transport for ${name}`);
    if (!held.lease.holding) throw new Error(`${name} is held by another instance`);
    await held.transport.send(place, replies);
  }

  /** Lines the previous holder claimed and never answered: their senders are told, once. */
  private async tellOrphans(transport: Transport, lease: ConnectionLease, epoch: number): Promise<void> {
    await this.options.ready?.(transport);
    if (lease.epoch !== epoch || !transport.send) return;
    const who = { connection: transport.name, holder: this.options.instance, epoch };
    const orphans = await takeOrphans(this.options.pool, who).catch((error: unknown) => {
      this.options.logger.warn(
        { transport: transport.name, err: String(error) },
        'unanswered lines not read',
      );
      return [];
    });
    for (const orphan of orphans) {
      const text = `${orphan.nick}: "${orphan.text}" reached another virtbot instance (${orphan.instance}), which stopped before answering; it may or may not have run — ask again, or see history`;
      await transport.send(orphan.place, [{ text, kind: 'error' }]).catch(() => undefined);
    }
  }
}
