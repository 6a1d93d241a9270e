/** Records and intents the audit tests write. */
import type { Intent } from '../../src/audit/store.js';

/** alice stops VM `vm` on host test, from #ops on libera. */
export const intent = (vm: string, extra: Partial<Intent> = {}): Intent => ({
  transport: 'irc',
  network: 'libera',
  channel: '#ops',
  user: 'alice',
  nick: 'alice',
  proof: 'irc-account',
  command: `vm stop ${vm}`,
  path: 'vm.stop',
  host: 'test',
  vm,
  args: { vm },
  ...extra,
});
