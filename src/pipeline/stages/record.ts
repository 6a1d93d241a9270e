/**
 * Record: every operation leaves a durable record before its reply goes out.
 *
 *  - A command that changes a host is recorded write-ahead: its *intent* (who, where, the
 *    resolved invocation) is made durable before the host is touched — if it cannot be, the
 *    command is refused and nothing runs — and its *outcome*, carrying the intent's id, after.
 *  - Everything else (reads, denials, bad input, pending codes) is one record.
 *  - When a record cannot be written the turn fails closed: a read's answer is withheld, an
 *    error keeps its text with a note, and a change that ran says so honestly — its intent is on
 *    disk, so the next start reports its outcome as unknown.
 */
import { renderInfoLine, renderItem } from '../../audit/render.js';
import type { AuditRecord, Reply } from '../../core/types.js';
import { messageOf } from '../../libvirt/virsh-shell.js';
import type { PipelineDeps } from '../deps.js';
import {
  aimOf,
  type Bound,
  type Ending,
  type Invocation,
  type Resolved,
  stop,
  type Utterance,
} from '../invocation.js';

let sequence = 0;

/** A unique, sortable record id (for records written outside the store's own id scheme: tasks). */
export function recordId(time: Date): string {
  return `${time.getTime().toString(36)}-${process.pid.toString(36)}-${(sequence++).toString(36)}`;
}

export class TurnRecorder {
  private intentId: string | undefined;
  private path: string | undefined;
  private command: string;
  private aim: { host?: string; vm?: string } = {};
  private markRecorded: () => void = () => {};
  /** Resolves once the turn's record is written, or could not be (tasks write theirs after it). */
  readonly recorded = new Promise<void>((resolve) => {
    this.markRecorded = resolve;
  });

  constructor(
    private readonly utterance: Utterance,
    private readonly deps: Pick<PipelineDeps, 'audit' | 'logger' | 'meetings' | 'now'>,
  ) {
    this.command = utterance.msg.command ? '' : utterance.line;
  }

  /** What the record is about, as far as the pipeline got. */
  describe(bound: Resolved | Bound | Invocation): void {
    this.path = bound.command.path.join('.');
    if (!('canonical' in bound)) return;
    if (this.command === '') this.command = bound.canonical;
    if (bound.confirmed) {
      const by = bound.confirmed.approvedBy;
      this.command = `${bound.canonical} (confirmed ${bound.confirmed.code}${by.length > 0 ? `, approved by ${by.join(', ')}` : ''})`;
    }
    if ('target' in bound) this.aim = aimOf(bound.target);
  }

  /** The invocation is about to change a host: its intent must be durable first, or it does not run. */
  async intend(invocation: Invocation): Promise<void> {
    this.describe(invocation);
    const { id: _id, outcome: _outcome, detail: _detail, time, ...who } = this.entry('in-progress', '');
    try {
      this.intentId = await this.deps.audit.begin({
        ...who,
        time: new Date(time),
        path: invocation.command.path.join('.'),
        args: invocation.args,
      });
    } catch (error) {
      this.deps.logger.error({ err: error }, 'audit intent could not be written: command refused');
      throw stop(
        'failed',
        `refused: the audit log cannot record this command, so it was not run (${messageOf(error)})`,
      );
    }
  }

  /** The intent's id, once written. */
  get intent(): string | undefined {
    return this.intentId;
  }

  /**
   * One more record in this turn, for something the pipeline did by itself on the way (the
   * snapshot a `snapshot-first` rule asked for). Throws when it cannot be written.
   */
  async note(path: string, outcome: AuditRecord['outcome'], detail: string): Promise<void> {
    const { id: _none, ...single } = this.entry(outcome, detail);
    await this.deps.audit.record({ ...single, path });
  }

  /** Writes the outcome; returns the replies to send (changed when the record could not be written). */
  async finish(ending: Ending): Promise<Reply[]> {
    try {
      return await this.writeOutcome(ending);
    } finally {
      this.markRecorded();
    }
  }

  private async writeOutcome(ending: Ending): Promise<Reply[]> {
    if (ending.about) this.aim = { ...this.aim, ...ending.about };
    const entry = this.entry(ending.outcome, ending.detail);
    try {
      if (this.intentId !== undefined) {
        await this.deps.audit.finish(this.intentId, { outcome: ending.outcome, detail: ending.detail });
        entry.intent = this.intentId;
      } else {
        const { id: _none, ...single } = entry;
        entry.id = await this.deps.audit.record(single);
      }
    } catch (error) {
      this.deps.logger.error({ err: error, outcome: ending.outcome }, 'audit record could not be written');
      return [this.unrecorded(ending, messageOf(error))];
    }
    this.deps.logger.info({ recordId: entry.id, outcome: entry.outcome }, renderInfoLine(entry));
    if (this.deps.meetings && !this.utterance.msg.place.private) {
      await this.deps.meetings
        .recordOperation(this.utterance.placeKey, entry, renderItem(entry))
        .catch((error: unknown) =>
          this.deps.logger.warn({ err: error }, 'meeting item for an operation could not be added'),
        );
    }
    return [ending.reply];
  }

  private unrecorded(ending: Ending, why: string): Reply {
    if (this.intentId !== undefined) {
      return {
        ...ending.reply,
        text: `${ending.reply.text} — but its outcome could not be recorded (${why}); its intent was, so history will show the outcome as unknown`,
        kind: 'error',
      };
    }
    if (ending.reply.kind === 'error') {
      // A refusal that already says why (the intent could not be written either) is not said twice.
      if (ending.storeDown || ending.reply.text.includes(why)) return ending.reply;
      return { ...ending.reply, text: `${ending.reply.text} (and the audit log cannot be written: ${why})` };
    }
    return {
      text: `the audit log cannot be written, so the answer is withheld: ${why}`,
      kind: 'error',
    };
  }

  private entry(outcome: AuditRecord['outcome'], detail: string): AuditRecord {
    const { msg, identity } = this.utterance;
    const time = msg.time;
    const entry: AuditRecord = {
      id: '',
      time: time.toISOString(),
      transport: msg.place.transport,
      network: msg.place.network,
      channel: msg.place.channel,
      user: identity.user,
      nick: msg.sender.nick,
      proof: identity.proof,
      command: this.command,
      outcome,
      detail,
    };
    if (msg.place.private) entry.private = true;
    if (this.path !== undefined) entry.path = this.path;
    if (this.aim.host !== undefined) entry.host = this.aim.host;
    if (this.aim.vm !== undefined) entry.vm = this.aim.vm;
    return entry;
  }
}
