/** Parsers for virsh's text output that more than one query reads. */

/** Parse `Key:   value` lines (dominfo, nodeinfo, pool-info …). */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at <= 0) continue;
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

/** `virsh domstats` output: domain name → its `key=value` fields, in the order virsh printed. */
export function parseDomstats(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const head = /^Domain: '(.*)'$/.exec(line);
    if (head) {
      current = {};
      out.set(head[1]!, current);
      continue;
    }
    const field = /^\s+([^=\s]+)=(.*)$/.exec(line);
    if (field && current) current[field[1]!] = field[2]!;
  }
  return out;
}

/** libvirt's virDomainState numbers as virsh names them (virshDomainStateToString). */
const STATES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

export function domainStateName(state: string | undefined): string {
  const n = Number(state);
  return Number.isInteger(n) && STATES[n] !== undefined ? STATES[n]! : 'unknown';
}

/** One name per line (`list --name`, …), blank lines dropped. */
export function nameLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .filter((l) => l.trim() !== '');
}

/** `list --all --id --name`: "7 web01", "- off01" → name → id ('-' when inactive). */
export function parseIdNames(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of nameLines(text)) {
    const m = /^\s*(\d+|-)\s+(.*)$/.exec(line);
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}
