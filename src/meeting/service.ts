/**
 * The contract between the pipeline and the meetings engine.
 *
 * PLACEHOLDER CONTRACT: the meetings module implements MeetingService; the pipeline
 * feeds it every channel line and every operation record.
 */
import type { AuditRecord, InboundMessage, Reply } from '../core/types.js';

export interface MeetingService {
  /**
   * Every line said in a channel (addressed or not) goes here first. Returns the replies
   * for meeting commands (`#startmeeting`, `#topic`, …); an empty list for other lines.
   * `handled` is true when the line was a meeting command and must not be parsed as an operation.
   */
  observe(msg: InboundMessage, identityUser: string | null): Promise<{ handled: boolean; replies: Reply[] }>;
  /** An operation's record, added as an item to the meeting open in that place (if any). */
  recordOperation(placeKey: string, record: AuditRecord, line: string): Promise<void>;
  /** Flush journals / close files. */
  close(): Promise<void>;
}
