/**
 * A local virsh backend for tests on libvirt's test driver: it records the virsh commands each
 * host was sent, can hold a command back (or fail it) through `hold`, and can report a fixed list
 * of host accounts instead of the machine's (`getent`), so that `vm users add` does not depend on
 * the accounts of the machine the tests run on.
 */
import { LocalBackend, type LocalBackendOptions } from '../../src/libvirt/backend.js';
import type { VirshArg } from '../../src/libvirt/virsh-quote.js';

export interface Accounts {
  users: readonly string[];
  groups: readonly string[];
}

/** `getent passwd|group` lines for these names, with regular (≥ 1000) ids. */
function getentLines(names: readonly string[], first: number, passwd: boolean): string {
  return names
    .map((name, i) =>
      passwd ? `${name}:x:${first + i}:${first + i}::/home/${name}:/bin/sh` : `${name}:x:${first + i}:`,
    )
    .join('\n');
}

export class RecordingBackend extends LocalBackend {
  /** The virsh commands sent, in order (command names only: 'domstate', 'dumpxml', …). */
  readonly sent: string[] = [];
  /** Runs before each command is sent; a rejection fails that command as virsh would. */
  hold: (command: string, args: readonly VirshArg[]) => Promise<void> = async () => {};

  constructor(
    options: LocalBackendOptions,
    private readonly accounts?: Accounts,
  ) {
    super(options);
    const run = this.shell.run.bind(this.shell);
    this.shell.run = (command, args = [], opts) => {
      this.sent.push(command);
      return this.hold(command, args).then(() => run(command, args, opts));
    };
  }

  override getent(database: 'passwd' | 'group'): Promise<string> {
    if (!this.accounts) return super.getent(database);
    return Promise.resolve(
      database === 'passwd'
        ? `${getentLines(this.accounts.users, 2001, true)}\n`
        : `${getentLines(this.accounts.groups, 3001, false)}\n`,
    );
  }
}
