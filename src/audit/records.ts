/**
 * The records every audit store writes (files, PostgreSQL): an intent from what was asked, and
 * an outcome that repeats its intent's fields (without the arguments) and names it.
 */
import type { AuditRecord } from '../core/types.js';
import type { Intent, OutcomeInput } from './store.js';

export function intentRecord(intent: Intent, id: string, time: Date): AuditRecord {
  const record: AuditRecord = {
    id,
    time: time.toISOString(),
    transport: intent.transport,
    network: intent.network,
    channel: intent.channel,
    user: intent.user,
    nick: intent.nick,
    proof: intent.proof,
    command: intent.command,
    path: intent.path,
    outcome: 'in-progress',
    detail: 'about to run',
    kind: 'intent',
  };
  if (intent.host !== undefined) record.host = intent.host;
  if (intent.vm !== undefined) record.vm = intent.vm;
  if (intent.args !== undefined) record.args = intent.args;
  if (intent.private) record.private = true;
  return record;
}

export function outcomeRecord(
  intent: AuditRecord,
  outcome: OutcomeInput,
  id: string,
  time: Date,
): AuditRecord {
  const { args: _args, seq: _seq, prev: _prev, hash: _hash, ...fields } = intent;
  return {
    ...fields,
    id,
    time: time.toISOString(),
    kind: 'outcome',
    intent: intent.id,
    outcome: outcome.outcome,
    detail: outcome.detail,
  };
}
