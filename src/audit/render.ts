import type { AuditRecord } from '../core/types.js';

/** `#info alice: vm nic add web01 network=default → ok: added virtio NIC …` */
export function renderInfoLine(record: AuditRecord): string {
  return `#info ${renderItem(record)}`;
}

/** The item text without the `#info` marker, as it appears in the minutes. */
export function renderItem(record: AuditRecord): string {
  const who = record.user ?? `${record.nick} (unidentified)`;
  return `${who}: ${oneLine(record.command)} → ${outcomeText(record.outcome)}: ${oneLine(record.detail)}`;
}

/** 'unknown' reads "outcome unknown": the command was started and nobody knows how it ended. */
function outcomeText(outcome: AuditRecord['outcome']): string {
  if (outcome === 'unknown') return 'outcome unknown';
  if (outcome === 'in-progress') return 'in progress';
  return outcome;
}

function oneLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ⏎ ');
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}
