/**
 * The shapes that flow through virtbot's pipeline. Transports build an InboundMessage
 * and render Replies; nothing here knows about libvirt, IRC or Discord specifics.
 */

/** Where a line was said: one chat transport instance and one channel (or a private conversation). */
export interface Place {
  /** 'console' | 'transcript' | 'irc' | 'discord' | … */
  transport: string;
  /** The configured network (IRC) or guild (Discord) name; '' for console and transcripts. */
  network: string;
  /** '#channel' for channels, or the peer's nick / user id for a private conversation. */
  channel: string;
  /** True for private messages and DMs. */
  private: boolean;
  /**
   * The channel's human name where `channel` is an opaque id (Discord: 'kimchi-ops' for channel
   * 1234…), for rules, minutes and paths. Absent where `channel` already is the name (IRC).
   */
  label?: string;
  /** The network's or server's human name where `network` is only the config's name. */
  networkLabel?: string;
  /**
   * False when the transport cannot see lines that are not addressed to the bot here (Discord
   * without the Message Content intent): meeting lines must then be given as slash commands.
   */
  hearsChatter?: boolean;
}

/** Who said it, as the transport proved it. A bare nick is never proof of identity. */
export interface Sender {
  nick: string;
  /** IRC services account (account-tag / extended-join / WHOX), when logged in. */
  account?: string;
  /** Discord user id. */
  userId?: string;
  /** Discord role ids in the guild where the message was sent. */
  roleIds?: string[];
  /** nick!user@host, only used where the config explicitly allows hostmask rules. */
  hostmask?: string;
  /** True when the transport itself vouches for the person (console --as, transcripts). */
  local?: boolean;
}

/**
 * A command given as structure rather than text (a Discord slash command or button): the
 * declared path and option values by argument name. The pipeline binds these directly with the
 * same validators it uses for typed text; nothing is turned back into text and re-parsed.
 */
export interface StructuredCommand {
  /** The declared command path, e.g. ['vm', 'nic', 'add']. */
  path: string[];
  /** Values by argument name, as the transport received them (validated by the pipeline). */
  options: Record<string, string | number | boolean>;
}

export interface InboundMessage {
  place: Place;
  sender: Sender;
  /** The line as said (prefix or mention stripped when addressed); for structured commands, their canonical text. */
  text: string;
  /**
   * The line exactly as the person typed it in the conversation, prefix or mention included
   * (`!vm nic add web01`, `@virtbot #info x`), when it differs from `text`. The meeting log is a
   * verbatim record and uses it; absent means `text` is what was said. Transports set it;
   * structured commands (slash) leave it out.
   */
  said?: string;
  time: Date;
  /** True when the line is addressed to the bot (prefix, mention, private message, slash command). */
  addressed: boolean;
  /** A /me action line. */
  action?: boolean;
  /** Set for slash commands and buttons: the command as structure (see StructuredCommand). */
  command?: StructuredCommand;
  /**
   * How a person types a command back to the bot here: '!' in an IRC channel, '' in a private
   * message. Prompts ("type '!confirm CODE'") are worded with it. Default: ''.
   */
  replyPrefix?: string;
  /** Transport-level message id (IRCv3 msgid, Discord snowflake), when there is one. */
  id?: string;
}

/**
 * Something that happened in a conversation that is not a line said to it: the transports report
 * these so that meetings can follow people (nick changes), keep a verbatim log (what the bot
 * really sent, and what the server refused), and restore topics.
 */
export type ChatEvent =
  | { type: 'nick'; transport: string; network: string; from: string; to: string; time: Date }
  | { type: 'sent'; place: Place; text: string; time: Date }
  | { type: 'refused'; place: Place; text: string; reason: string; time: Date }
  | { type: 'topic'; place: Place; topic: string; by?: string; time: Date };

/** The identity the authorizer resolved for a sender. */
export interface Identity {
  /** The configured user name, or null for an anonymous sender. */
  user: string | null;
  /** The system account name on the hypervisors (for per-VM access), when configured. */
  systemAccount?: string;
  /** Group names from the config. */
  groups: string[];
  /** Role names granted directly, via groups, or via Discord roles. */
  roles: string[];
  /** What proved it: 'irc-account', 'discord-id', 'hostmask', 'local', 'anonymous'. */
  proof: string;
  nick: string;
}

export type ReplyKind = 'reply' | 'error' | 'meeting' | 'confirm';

/**
 * One reply: a unit, whatever its length. `text` is the short answer; `lines` the detail (lists,
 * help). A transport renders the unit within its own output budget: the summary in the
 * conversation, and the detail there or privately ("N more lines sent to you privately").
 */
export interface Reply {
  text: string;
  kind: ReplyKind;
  /** Detail lines of the same reply (lists, help text). */
  lines?: string[];
  /** Send privately (IRC NOTICE/PM, Discord ephemeral) rather than to the channel. */
  private?: boolean;
  /** For confirmations: the one-time code, so rich transports can render buttons. */
  confirmCode?: string;
  /** For confirmations: the buttons a rich transport may offer for the code. */
  actions?: ('confirm' | 'cancel' | 'approve' | 'deny')[];
  /** Ask the transport to set the channel's topic to this (meetings), where the bot may. */
  setTopic?: string;
  /** Structured facts of the same reply (vm info, host info, stats), for rich renderings (embeds). */
  card?: { title: string; fields: { name: string; value: string }[] };
  /**
   * Set by the pipeline on the error it gives for a line whose first word(s) are no known command.
   * In a channel, a line addressed only by the prefix (`!seen bob`) is often meant for another
   * bot: transports with `quietUnknown` (the default) then say nothing. In private, and when the
   * bot was addressed by name or mention, the error is shown as usual.
   */
  unknownCommand?: boolean;
}

export type Outcome =
  | 'ok'
  | 'denied'
  | 'invalid'
  | 'failed'
  | 'pending'
  | 'approved'
  | 'lapsed'
  | 'cancelled'
  /** The command was started (its intent is recorded) and virtbot cannot tell how it ended. */
  | 'unknown'
  /** Started and not finished yet (an intent, or an outcome awaiting libvirt's event). */
  | 'in-progress';

/**
 * What a record is: `intent` (written and synced before a command touches a host), `outcome`
 * (how an intent ended; `intent` names it; an intent may get several, the last one counts),
 * `single` (a one-shot record: read-only commands, denials, lapses), `event` (the audit log's
 * own events: a file deleted or replaced under virtbot, corrupted lines found). Records written
 * before kinds existed have none and read as `single`.
 */
export type AuditKind = 'intent' | 'outcome' | 'single' | 'event';

/** One line of the append-only audit log; also rendered into the minutes. */
export interface AuditRecord {
  /** Monotonic per-process sequence plus time: unique and sortable. */
  id: string;
  time: string;
  transport: string;
  network: string;
  channel: string;
  /** The resolved identity (config user name), or null when anonymous. */
  user: string | null;
  nick: string;
  proof: string;
  /** The command as typed (without the bot's prefix); for intents, the canonical line. */
  command: string;
  /** The resolved command path, e.g. 'vm.nic.add', when resolution got that far. */
  path?: string;
  outcome: Outcome;
  detail: string;
  host?: string;
  vm?: string;
  /** Said in a private conversation: shown by `history` only to its author and to admins. */
  private?: boolean;
  /** Absent in records written before kinds existed: read as 'single'. */
  kind?: AuditKind;
  /** Outcome records: the id of the intent they finish. */
  intent?: string;
  /** Intents: the bound arguments the command runs with. */
  args?: Record<string, unknown>;
  /** Position in the hash chain: 1 for the first chained record, +1 for each one after, across rotations. */
  seq?: number;
  /** The `hash` of the record before this one in the chain (64 zeros for the first). */
  prev?: string;
  /** SHA-256 (hex) of this record's line without its `hash` field. */
  hash?: string;
}

/** Which audit records a query wants, newest first. */
export interface AuditFilter {
  vm?: string;
  user?: string;
  host?: string;
  since?: Date;
  limit?: number;
  /** Only records this accepts count (visibility); asked newest first, until `limit` are found. */
  accept?: (record: AuditRecord) => boolean | Promise<boolean>;
}
