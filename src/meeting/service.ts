/**
 * The contract between the pipeline (and the bot) and the meetings engine.
 *
 * The meetings module implements MeetingService; the pipeline feeds it every channel line with
 * the identity it resolved and every operation record; the bot feeds it the transports' events
 * and runs its sweep from a timer.
 */
import type { AuditRecord, ChatEvent, Identity, InboundMessage, Place, Reply } from '../core/types.js';

/** What to say in a channel on the meetings' own initiative (post each reply with `Transport.send`). */
export interface MeetingNotice {
  place: Place;
  replies: Reply[];
}

export interface MeetingService {
  /**
   * Every line said in a channel (addressed or not) goes here first, with the identity the
   * pipeline resolved for its sender (chairs are kept by identity, not by nick). Returns the
   * replies for meeting commands (`#startmeeting`, `#topic`, …); an empty list for other lines.
   * `handled` is true when the line was a meeting command and must not be parsed as an operation.
   */
  observe(msg: InboundMessage, identity: Identity): Promise<{ handled: boolean; replies: Reply[] }>;
  /**
   * Something that happened in a conversation (from `bot.observe(event)`): nick changes carry chair
   * rights and line counts over; `sent` lines are the bot's lines of the log; `topic` is the topic
   * to restore at #endmeeting; `refused` lines were not said and are not logged.
   */
  onEvent(event: ChatEvent): void;
  /** An operation's record, added as an item to the meeting open in that place (if any). */
  recordOperation(placeKey: string, record: AuditRecord, line: string): Promise<void>;
  /**
   * Ends meetings left open too long (writing their minutes) and returns what to say in their
   * channels, with the notices of meetings ended remotely. Call it from a timer (every minute).
   */
  sweep(now?: Date): MeetingNotice[];
  /**
   * Ends the meeting open in `target` (a channel, `NETWORK/#channel` or a place key) from
   * anywhere, writing its minutes: for an admin whose meeting's chairs are gone.
   */
  endMeeting(target: string, by: string): { ok: boolean; text: string };
  /** The meetings open now, where, since when and how long. */
  openMeetings(): {
    place: Place;
    meeting: { channel: string; startTime: number; lineCount: number; ownerNick(): string };
  }[];
  /** Flush journals / close files. */
  close(): Promise<void>;
  /**
   * Several instances (store.postgres): restores the open meetings whose place key starts with
   * `prefix` from the shared journals, when this instance takes their connection over.
   */
  resume?(prefix: string): Promise<string[]>;
  /** … and forgets them here (journals kept) when it gives the connection up. */
  release?(prefix: string): string[];
}
