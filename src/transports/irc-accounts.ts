/**
 * Who is logged in as which services account, as far as an IRC connection can know it without
 * the IRCv3 account-tag.
 *
 * The rule this module exists for: a tracked account is only trustworthy while the server keeps
 * telling us about that nick, which it does only while the bot shares a channel with it (QUIT,
 * NICK, PART and, with account-notify, ACCOUNT are sent to those who share a channel, and to
 * nobody else). So accounts are remembered only for nicks the bot shares a channel with, and
 * forgotten the moment it no longer does: a PM from someone out of sight, or from someone
 * seen while account-notify is off, is never answered from memory. Anything not trusted here is
 * checked afresh (WHOIS) for that very message, or treated as anonymous.
 */

type Lower = (text: string) => string;

export class AccountTracker {
  /** Lower-cased nick → account (false: known to be logged out); only nicks we share a channel with. */
  private readonly accounts = new Map<string, string | false>();
  /** Lower-cased nick → lower-cased channels we share with them. */
  private readonly channelsOf = new Map<string, Set<string>>();

  constructor(private readonly lower: Lower) {}

  /** True while the bot shares at least one channel with `nick`. */
  shares(nick: string): boolean {
    return (this.channelsOf.get(this.lower(nick))?.size ?? 0) > 0;
  }

  /** The channels (lower-cased) the bot shares with `nick`. */
  channels(nick: string): ReadonlySet<string> {
    return this.channelsOf.get(this.lower(nick)) ?? new Set();
  }

  /**
   * The account we may believe for `nick` without asking: only with account-notify (so that a
   * login or logout since would have been reported) and only while we share a channel (so that
   * a QUIT or NICK would have been reported). Undefined: not known, ask.
   */
  trusted(nick: string, accountNotify: boolean): string | false | undefined {
    if (!accountNotify || !this.shares(nick)) return undefined;
    return this.accounts.get(this.lower(nick));
  }

  /** `nick` is in `channel` (a JOIN, a NAMES/WHO row); `account` when the server said (extended-join, WHOX). */
  seen(nick: string, channel: string, account?: string | false): void {
    const key = this.lower(nick);
    let set = this.channelsOf.get(key);
    if (!set) {
      set = new Set();
      this.channelsOf.set(key, set);
    }
    set.add(this.lower(channel));
    if (account !== undefined) this.accounts.set(key, account);
  }

  /** The server reported a login or logout (account-notify): believed only for nicks in sight. */
  accountChanged(nick: string, account: string | false): void {
    if (this.shares(nick)) this.accounts.set(this.lower(nick), account);
  }

  /** A fresh WHOIS answer, kept only when it can be kept current (in sight, with account-notify). */
  checked(nick: string, account: string | false, accountNotify: boolean): void {
    if (accountNotify && this.shares(nick)) this.accounts.set(this.lower(nick), account);
  }

  /** `nick` left `channel` (PART, KICK). Out of sight everywhere: forgotten. */
  left(nick: string, channel: string): void {
    const key = this.lower(nick);
    const set = this.channelsOf.get(key);
    set?.delete(this.lower(channel));
    if (!set || set.size === 0) this.forget(nick);
  }

  /** The bot itself left `channel`: everyone seen only there is out of sight now. */
  selfLeft(channel: string): void {
    const lowered = this.lower(channel);
    for (const [nick, set] of [...this.channelsOf]) {
      set.delete(lowered);
      if (set.size === 0) this.forget(nick);
    }
  }

  forget(nick: string): void {
    const key = this.lower(nick);
    this.accounts.delete(key);
    this.channelsOf.delete(key);
  }

  renamed(from: string, to: string): void {
    const a = this.lower(from);
    const b = this.lower(to);
    if (a === b) return;
    const account = this.accounts.get(a);
    const seen = this.channelsOf.get(a);
    this.forget(from);
    // Whatever we knew about the new nick belonged to someone else.
    this.forget(to);
    if (seen) this.channelsOf.set(b, seen);
    if (account !== undefined && seen) this.accounts.set(b, account);
  }

  clear(): void {
    this.accounts.clear();
    this.channelsOf.clear();
  }
}
