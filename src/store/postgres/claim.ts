/**
 * Inbound claims: every line a chat connection hears is claimed once, in PostgreSQL, before
 * anything is done with it, so that during a handover (two instances briefly hearing the same
 * channel, or a line heard again after a reconnect) no command runs or is answered twice.
 *
 * The key is the transport's id where it gives one (IRCv3 `msgid`, Discord's snowflake). Without
 * one (ngircd has no message-tags) it is a hash of connection, place, sender, text and a time
 * bucket, plus how many identical lines this instance heard in that bucket before: a person who
 * says "+1" twice keeps both lines, and two instances hearing the same stream count alike.
 *
 * A claim is made only under the connection's current lease epoch (lease.ts): an instance whose
 * lease ran out cannot claim, whatever it still hears. An addressed line claimed and never
 * answered (its instance died in between) is found by the next holder (`orphans`) and its
 * sender told, rather than silently lost or run a second time.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { InboundMessage } from '../../core/types.js';

/** Lines without an id are told apart within this many ms (longer than a handover's overlap). */
export const CLAIM_BUCKET_MS = 5_000;
/** Claims are kept this long (then pruned): far longer than any handover. */
const KEEP_CLAIMS = '1 day';

export interface ClaimIdentity {
  connection: string;
  holder: string;
  epoch: number;
}

export interface Orphan {
  key: string;
  place: InboundMessage['place'];
  nick: string;
  text: string;
  instance: string;
}

/** Computes claim keys; the repeat counter is per instance and per bucket. */
export class ClaimKeys {
  private bucket = -1;
  private readonly seen = new Map<string, number>();

  constructor(private readonly connection: string) {}

  key(msg: InboundMessage): string {
    if (msg.id) return `${this.connection} id ${msg.id}`;
    const bucket = Math.floor(msg.time.getTime() / CLAIM_BUCKET_MS);
    if (bucket !== this.bucket) {
      this.bucket = bucket;
      this.seen.clear();
    }
    const base = createHash('sha256')
      .update(
        JSON.stringify([
          this.connection,
          msg.place.channel,
          msg.place.private,
          msg.sender.hostmask ?? msg.sender.nick,
          msg.action === true,
          msg.said ?? msg.text,
          bucket,
        ]),
      )
      .digest('hex');
    const n = this.seen.get(base) ?? 0;
    this.seen.set(base, n + 1);
    return `${this.connection} h ${base} ${n}`;
  }
}

/**
 * Claims the line for this holder under its epoch. True: it is ours to handle. False: another
 * instance claimed it already, or this one no longer holds the connection. Rejects when the
 * store cannot be reached (the caller fails closed: the line is not handled).
 */
export async function claim(
  pool: pg.Pool,
  who: ClaimIdentity,
  key: string,
  msg: InboundMessage,
): Promise<boolean> {
  const result = await pool.query(
    `INSERT INTO inbound_claims (key, connection, instance, epoch, place, nick, text, addressed)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8
     WHERE EXISTS (SELECT 1 FROM leases
                   WHERE name = $2 AND holder = $3 AND epoch = $4 AND expires_at > now())
     ON CONFLICT (key) DO NOTHING`,
    [
      key,
      who.connection,
      who.holder,
      who.epoch,
      JSON.stringify(msg.place),
      msg.sender.nick,
      msg.said ?? msg.text,
      msg.addressed,
    ],
  );
  return result.rowCount === 1;
}

/** The line was handled and its replies handed to the transport. */
export async function markAnswered(pool: pg.Pool, key: string): Promise<void> {
  await pool.query('UPDATE inbound_claims SET answered_at = now() WHERE key = $1 AND answered_at IS NULL', [
    key,
  ]);
}

/**
 * Addressed lines of this connection claimed under an earlier epoch and never answered, taken
 * over by this holder (each once: the UPDATE marks them answered as it returns them).
 */
export async function takeOrphans(pool: pg.Pool, who: ClaimIdentity, withinMs = 600_000): Promise<Orphan[]> {
  const result = await pool.query<{
    key: string;
    place: Orphan['place'];
    nick: string;
    text: string;
    instance: string;
  }>(
    `WITH taken AS (
       SELECT key, instance AS was FROM inbound_claims
       WHERE connection = $1 AND addressed AND answered_at IS NULL AND epoch < $3
         AND claimed_at > now() - make_interval(secs => $4)
       FOR UPDATE SKIP LOCKED)
     UPDATE inbound_claims c SET answered_at = now(), instance = $2, epoch = $3
     FROM taken WHERE c.key = taken.key
     RETURNING c.key, c.place, c.nick, c.text, taken.was AS instance`,
    [who.connection, who.holder, who.epoch, withinMs / 1000],
  );
  return result.rows;
}

/** Drops claims older than a day (any instance may do it; it is idempotent). */
export async function pruneClaims(pool: pg.Pool): Promise<number> {
  const result = await pool.query(
    `DELETE FROM inbound_claims WHERE claimed_at < now() - interval '${KEEP_CLAIMS}'`,
  );
  return result.rowCount ?? 0;
}
