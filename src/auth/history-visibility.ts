/**
 * Which audit records a person may see with `history`. A record is shown when:
 *  - the asker holds a role granting `history.all` (admins): everything; otherwise
 *  - it was said privately: only to its author (an identified user);
 *  - it was said in a channel: when asked in that same channel, or to its author;
 *  - and, when it names a host (and VM), the asker may look at that host or VM — judged by the
 *    same judge as every command (`host.info` for a host, `vm.info` for a VM, per-VM access
 *    included), in the place the asker asks from.
 */
import type { Config } from '../config/schema.js';
import type { AuditRecord, Identity, Place } from '../core/types.js';
import { judge } from './judge.js';
import type { VmAccessList } from './vm-access.js';

export const HISTORY_ALL = 'history.all';

export interface Asker {
  identity: Identity;
  place: Place;
}

/** Reads a VM's access list (for per-VM users); rejects when it cannot be read (then: not shown). */
export type AccessLookup = (host: string, vm: string) => Promise<VmAccessList>;

function samePlace(record: AuditRecord, place: Place): boolean {
  return (
    record.transport === place.transport &&
    record.network === place.network &&
    record.channel === place.channel
  );
}

function wasPrivate(record: AuditRecord): boolean {
  // Records written before `private` existed: a private conversation's channel is the peer, not '#…'.
  return record.private ?? !/^[#&+!]/.test(record.channel);
}

/** A filter for one asker; host/VM judgements and access lists are asked once per query. */
export function historyFilter(
  config: Config,
  asker: Asker,
  lookup: AccessLookup,
): (record: AuditRecord) => Promise<boolean> {
  const everything = judgeFor(config, asker, HISTORY_ALL, 'none').allowed;
  const hostVerdicts = new Map<string, Promise<boolean>>();
  const own = (record: AuditRecord) => asker.identity.user !== null && record.user === asker.identity.user;
  return async (record) => {
    if (everything) return true;
    if (wasPrivate(record) ? !own(record) : !(samePlace(record, asker.place) || own(record))) return false;
    if (record.host === undefined) return true;
    const key = `${record.host}\u0000${record.vm ?? ''}`;
    let verdict = hostVerdicts.get(key);
    if (!verdict) {
      verdict = mayLook(config, asker, record.host, record.vm, lookup);
      hostVerdicts.set(key, verdict);
    }
    return verdict;
  };
}

async function mayLook(
  config: Config,
  asker: Asker,
  host: string,
  vm: string | undefined,
  lookup: AccessLookup,
): Promise<boolean> {
  if (vm === undefined) return judgeFor(config, asker, 'host.info', 'host', host).allowed;
  if (judgeFor(config, asker, 'vm.info', 'vm', host, vm).allowed) return true;
  try {
    const access = await lookup(host, vm);
    return judgeFor(config, asker, 'vm.info', 'vm', host, vm, access).allowed;
  } catch {
    return false;
  }
}

function judgeFor(
  config: Config,
  asker: Asker,
  permission: string,
  kind: 'none' | 'host' | 'vm',
  host?: string,
  vm?: string,
  vmAccess?: VmAccessList,
) {
  return judge(config, {
    identity: asker.identity,
    command: { permission, open: false, destructive: false, target: { kind }, args: [] },
    args: {},
    place: asker.place,
    ...(host !== undefined ? { host } : {}),
    ...(vm !== undefined ? { vm } : {}),
    ...(vmAccess !== undefined ? { vmAccess } : {}),
  });
}
