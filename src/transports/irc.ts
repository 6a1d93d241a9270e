/**
 * The IRC transport (irc-framework): one instance per configured network.
 *
 * Identity: the sender's services account from the IRCv3 account-tag when the server offers it;
 * otherwise the account tracked per nick (extended-join, WHOX on join, account-notify, nick
 * changes, quits), or a WHOIS for an addressed line. A bare nick proves nothing.
 * Output goes through a flood-controlled queue, split at IRC's 512-byte line limit.
 */
import { EventEmitter } from 'node:events';
import IRC, {
  type AccountEvent,
  type Client,
  type IrcClientOptions,
  type JoinEvent,
  type KickEvent,
  type MessageEvent,
  type NickEvent,
  type PartEvent,
  type QuitEvent,
  type WhoListEvent,
} from 'irc-framework';
import { readSecret } from '../config/read-secret.js';
import type { IrcNetworkConfig } from '../config/sections/transports.js';
import type { InboundMessage, Place, Reply, Sender } from '../core/types.js';
import { AccountTracker } from './irc-accounts.js';
import { Outbox } from './outbox.js';
import { splitLines, stripIrcFormatting } from './text.js';
import {
  backoffDelay,
  type MessageHandler,
  silentLogger,
  type Transport,
  type TransportLogger,
} from './transport.js';

/** RFC 1459: a whole line, including the sender prefix the server adds and CR LF. */
export const IRC_LINE_BYTES = 512;
/** Longest host part assumed when the server has not told us our own displayed host. */
const ASSUMED_HOST_BYTES = 63;
const CONNECT_TIMEOUT_MS = 30_000;
const WHOIS_TIMEOUT_MS = 5_000;

interface OutLine {
  command: 'PRIVMSG' | 'NOTICE';
  target: string;
  text: string;
}

export interface IrcTransportEvents {
  connected: [nick: string];
  joined: [channel: string];
  disconnected: [reason: string];
  reconnecting: [attempt: number, delayMs: number];
  /** A line went through the handler (for tests and metrics). */
  handled: [msg: InboundMessage, replies: Reply[]];
  /** The member list (WHO/WHOX) of a joined channel was read. */
  who: [channel: string];
}

export class IrcTransport extends EventEmitter<IrcTransportEvents> implements Transport {
  readonly name: string;
  private client: Client | undefined;
  private readonly outbox: Outbox<OutLine>;
  /** Accounts of the people we share a channel with (see irc-accounts.ts for when they are believed). */
  private readonly tracker = new AccountTracker((text) => this.lower(text));
  /** WHOIS requests in flight, per lower-cased nick, in the order sent (the server answers in order). */
  private readonly whoisWaiting = new Map<string, Array<(w: Record<string, unknown> | undefined) => void>>();
  private readonly joined = new Set<string>();
  private stopped = true;
  private registered = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private secrets: { password?: string; sasl?: string } | undefined;
  private readonly prefix: string;
  private readonly nickname: string;

  constructor(
    private readonly cfg: IrcNetworkConfig,
    private readonly handler: MessageHandler,
    private readonly logger: TransportLogger = silentLogger,
  ) {
    super();
    this.name = `irc:${cfg.name}`;
    this.prefix = cfg.prefix ?? '!';
    this.nickname = cfg.nick ?? 'virtbot';
    this.outbox = new Outbox<OutLine>((line) => this.client?.raw(line.command, line.target, line.text), {
      burst: cfg.flood.burst,
      rate: cfg.flood.rate,
      onDrop: (count) =>
        this.logger.warn({ transport: this.name, count }, 'outgoing queue full: dropped lines'),
    });
  }

  /** True while registered with the server. */
  get connected(): boolean {
    return this.registered;
  }

  /** The bot's current nick. */
  get nick(): string {
    return this.client?.user.nick ?? this.nickname;
  }

  /** Lines waiting in the flood-controlled queue. */
  get queued(): number {
    return this.outbox.size;
  }

  /**
   * Reads the secrets and connects. Resolves once registered with the server. If the first
   * attempt fails it rejects (so the caller can report it), and keeps retrying with backoff in
   * the background until stop(): a network that cannot be reached never holds up the others.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.secrets = {
      ...(this.cfg.password
        ? { password: await readSecret(this.cfg.password, `${this.name} password`) }
        : {}),
      ...(this.cfg.sasl
        ? { sasl: await readSecret(this.cfg.sasl.password, `${this.name} SASL password`) }
        : {}),
    };
    this.stopped = false;
    await new Promise<void>((resolve, reject) => {
      const done = (reason?: string) => {
        this.off('connected', onConnected);
        this.off('disconnected', onDisconnected);
        if (reason === undefined) resolve();
        else reject(new Error(`${this.name}: ${reason} (${this.cfg.host}:${this.cfg.port}); retrying`));
      };
      const onConnected = () => done();
      const onDisconnected = (reason: string) => done(reason);
      this.on('connected', onConnected);
      this.on('disconnected', onDisconnected);
      this.connect();
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
    this.outbox.pause();
    this.outbox.clear();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        client.quit('virtbot stopping');
      });
    } else {
      client.connection.end();
    }
    client.removeAllListeners();
    this.client = undefined;
    this.registered = false;
  }

  private connect(): void {
    const client = new IRC.Client();
    this.client = client;
    const { cfg } = this;
    const options: IrcClientOptions = {
      host: cfg.host,
      port: cfg.port,
      tls: cfg.tls,
      rejectUnauthorized: cfg.tlsVerify,
      nick: this.nickname,
      username: cfg.username ?? (this.nickname.replace(/[^A-Za-z0-9]/g, '').slice(0, 10) || 'virtbot'),
      gecos: cfg.realname,
      version: 'virtbot',
      auto_reconnect: false,
      ping_interval: 30,
      ping_timeout: 120,
      sasl_disconnect_on_fail: cfg.sasl?.required ?? false,
      ...(this.secrets?.password ? { password: this.secrets.password } : {}),
      ...(cfg.sasl && this.secrets?.sasl
        ? { account: { account: cfg.sasl.account, password: this.secrets.sasl } }
        : {}),
    };
    const mine = (fn: (...args: never[]) => void) =>
      ((...args: never[]) => {
        if (this.client === client) fn(...args);
      }) as (...args: unknown[]) => void;

    client.on(
      'registered',
      mine(() => this.onRegistered(client)),
    );
    client.on(
      'close',
      mine(() => this.onClose('connection closed')),
    );
    client.on(
      'socket close',
      mine(() => this.outbox.pause()),
    );
    client.on(
      'sasl failed',
      mine((e: { reason: string; message?: string }) =>
        this.logger.warn({ transport: this.name, reason: e.reason, message: e.message }, 'SASL login failed'),
      ),
    );
    client.on(
      'nick in use',
      mine(() => {
        if (!this.registered) client.changeNick(`${client.user.nick}_`);
      }),
    );
    client.on(
      'privmsg',
      mine((e: MessageEvent) => void this.onMessage(e, false)),
    );
    client.on(
      'action',
      mine((e: MessageEvent) => void this.onMessage(e, true)),
    );
    client.on(
      'join',
      mine((e: JoinEvent) => this.onJoin(client, e)),
    );
    client.on(
      'part',
      mine((e: PartEvent) => this.onLeave(client, e.nick, e.channel)),
    );
    client.on(
      'kick',
      mine((e: KickEvent) => this.onLeave(client, e.kicked, e.channel)),
    );
    client.on(
      'quit',
      mine((e: QuitEvent) => this.tracker.forget(e.nick)),
    );
    client.on(
      'nick',
      mine((e: NickEvent) => this.onNick(e)),
    );
    client.on(
      'account',
      mine((e: AccountEvent) => this.tracker.accountChanged(e.nick, e.account || false)),
    );
    client.on(
      'whois',
      mine((w: Record<string, unknown>) => this.onWhois(w)),
    );

    this.logger.info(
      { transport: this.name, host: cfg.host, port: cfg.port, attempt: this.attempt },
      'connecting',
    );
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.client === client && !this.registered) {
        this.logger.warn({ transport: this.name }, 'registration timed out');
        client.connection.end();
        this.onClose('registration timed out');
      }
    }, CONNECT_TIMEOUT_MS);
    client.connect(options);
  }

  private onRegistered(client: Client): void {
    clearTimeout(this.connectTimer);
    this.registered = true;
    this.attempt = 0;
    this.logger.info({ transport: this.name, nick: client.user.nick }, 'registered');
    for (const channel of this.cfg.channels) client.join(channel);
    this.outbox.resume();
    this.emit('connected', client.user.nick);
  }

  private onClose(reason: string): void {
    clearTimeout(this.connectTimer);
    const client = this.client;
    if (client) client.removeAllListeners();
    this.client = undefined;
    this.registered = false;
    this.outbox.pause();
    this.joined.clear();
    this.tracker.clear();
    this.clearWhois();
    this.emit('disconnected', reason);
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, this.cfg.reconnect.minDelayMs, this.cfg.reconnect.maxDelayMs);
    this.attempt++;
    this.logger.warn(
      { transport: this.name, reason, attempt: this.attempt, delayMs: delay },
      'disconnected; reconnecting',
    );
    this.emit('reconnecting', this.attempt, delay);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }

  private lower(text: string): string {
    return this.client ? this.client.caseLower(text) : text.toLowerCase();
  }

  private isSelf(nick: string): boolean {
    return this.lower(nick) === this.lower(this.nick);
  }

  private isChannel(target: string): boolean {
    const types = this.client?.network.supports('CHANTYPES');
    const prefixes = typeof types === 'string' && types !== '' ? types : '#&+!';
    return target !== '' && prefixes.includes(target[0]!);
  }

  private caps(cap: string): boolean {
    return this.client?.network.cap.isEnabled(cap) ?? false;
  }

  // ---- identity tracking ----------------------------------------------------------------

  private onJoin(client: Client, e: JoinEvent): void {
    if (this.isSelf(e.nick)) {
      this.joined.add(this.lower(e.channel));
      this.logger.info({ transport: this.name, channel: e.channel }, 'joined');
      // WHOX (when offered) gives every member's account; irc-framework picks WHOX itself.
      client.who(e.channel, (list: WhoListEvent) => {
        this.onWho(list);
        this.emit('who', e.channel);
      });
      this.emit('joined', e.channel);
      return;
    }
    this.tracker.seen(e.nick, e.channel, e.account);
  }

  private onWho(list: WhoListEvent): void {
    for (const user of list.users) {
      if (!user.channel || this.isSelf(user.nick)) continue;
      const account = user.account === undefined ? undefined : user.account === '' ? false : user.account;
      this.tracker.seen(user.nick, user.channel, account);
    }
  }

  private onLeave(client: Client, nick: string, channelName: string): void {
    const channel = this.lower(channelName);
    if (this.isSelf(nick)) {
      this.joined.delete(channel);
      this.tracker.selfLeft(channelName);
      // Kicked or parted by someone else from a configured channel: go back after a while.
      if (this.cfg.channels.some((c) => this.lower(c) === channel)) {
        setTimeout(() => {
          if (this.client === client && this.registered) client.join(channelName);
        }, 5000).unref();
      }
      return;
    }
    this.tracker.left(nick, channelName);
  }

  private onNick(e: NickEvent): void {
    this.tracker.renamed(e.nick, e.new_nick);
  }

  /**
   * The sender's services account, proven by the server for this message; undefined when not
   * logged in, unknown, or not provable in time.
   *
   * - account-tag: the server vouches for this very message; no tag means not logged in.
   * - otherwise a tracked account, only while it is kept current (account-notify, and a channel
   *   shared with the nick: see AccountTracker);
   * - otherwise, for a line addressed to the bot, a WHOIS sent after the line arrived and
   *   answered for the same user@host, within WHOIS_TIMEOUT_MS; else anonymous.
   */
  private async accountOf(e: MessageEvent, addressed: boolean): Promise<string | undefined> {
    if (this.caps('account-tag')) return e.tags['account'] || undefined;
    const accountNotify = this.caps('account-notify');
    const trusted = this.tracker.trusted(e.nick, accountNotify);
    if (trusted !== undefined) return trusted || undefined;
    if (!addressed) return undefined;
    const w = await this.whois(e.nick);
    if (!w || w['error'] !== undefined) return undefined;
    // The nick may have changed hands since the line was said: the answer must be about the same user.
    if (w['ident'] !== e.ident || w['hostname'] !== e.hostname) {
      this.logger.warn(
        { transport: this.name, nick: e.nick },
        'WHOIS answered for a different user@host than the message came from: treated as anonymous',
      );
      return undefined;
    }
    const account = typeof w['account'] === 'string' && w['account'] !== '' ? w['account'] : undefined;
    this.tracker.checked(e.nick, account ?? false, accountNotify);
    return account;
  }

  /** Sends a WHOIS now and resolves with its own answer (or undefined after WHOIS_TIMEOUT_MS). */
  private whois(nick: string): Promise<Record<string, unknown> | undefined> {
    const client = this.client;
    if (!client || !this.registered) return Promise.resolve(undefined);
    const key = this.lower(nick);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (w: Record<string, unknown> | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(w);
      };
      // A late answer still takes its place in the queue, so that it is not given to the next asker.
      const timer = setTimeout(() => finish(undefined), WHOIS_TIMEOUT_MS);
      const queue = this.whoisWaiting.get(key) ?? [];
      queue.push(finish);
      this.whoisWaiting.set(key, queue);
      client.raw('WHOIS', nick);
    });
  }

  private onWhois(w: Record<string, unknown>): void {
    if (typeof w['nick'] !== 'string') return;
    const key = this.lower(w['nick']);
    const queue = this.whoisWaiting.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.whoisWaiting.delete(key);
    next?.(w);
  }

  private clearWhois(): void {
    for (const queue of this.whoisWaiting.values()) for (const finish of queue) finish(undefined);
    this.whoisWaiting.clear();
  }

  // ---- input ----------------------------------------------------------------------------

  /** Splits an addressed line from chatter; strips the prefix or "nick:" from addressed lines. */
  private address(text: string, isPrivate: boolean, action: boolean): { addressed: boolean; text: string } {
    const nick = this.nick.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const byNick = new RegExp(`^@?${nick}[:,]\\s*`, 'i');
    if (!action) {
      if (
        text.startsWith(this.prefix) &&
        text.length > this.prefix.length &&
        !/^\s/.test(text.slice(this.prefix.length))
      ) {
        return { addressed: true, text: text.slice(this.prefix.length).trim() };
      }
      const m = byNick.exec(text);
      if (m) return { addressed: true, text: text.slice(m[0].length).trim() };
    }
    return { addressed: isPrivate && !action, text: isPrivate ? text.trim() : text };
  }

  private async onMessage(e: MessageEvent, action: boolean): Promise<void> {
    if (e.from_server || !e.nick || this.isSelf(e.nick)) return;
    const isPrivate = !this.isChannel(e.target);
    const clean = stripIrcFormatting(e.message).replace(/[\r\n\0]/g, ' ');
    const { addressed, text } = this.address(clean, isPrivate, action);
    if (addressed && text === '') return;
    const place: Place = {
      transport: 'irc',
      network: this.cfg.name,
      channel: isPrivate ? e.nick : e.target,
      private: isPrivate,
    };
    const account = await this.accountOf(e, addressed);
    const sender: Sender = { nick: e.nick, hostmask: `${e.nick}!${e.ident}@${e.hostname}` };
    if (account) sender.account = account;
    const msg: InboundMessage = {
      place,
      sender,
      text,
      time: typeof e.time === 'number' ? new Date(e.time) : new Date(),
      addressed,
      ...(action ? { action: true } : {}),
    };
    let replies: Reply[];
    try {
      replies = await this.handler(msg);
    } catch (err) {
      this.logger.error({ transport: this.name, err, text: msg.text }, 'handler failed');
      replies = addressed ? [{ text: 'internal error (logged)', kind: 'error', private: true }] : [];
    }
    this.render(place, e.nick, replies);
    this.emit('handled', msg, replies);
  }

  // ---- output ---------------------------------------------------------------------------

  /** Bytes left for the text of `COMMAND target :text` once the server adds `:nick!user@host `. */
  maxTextBytes(command: string, target: string): number {
    const user = this.client?.user;
    const nick = user?.nick ?? this.nickname;
    const ident = (user?.username || this.cfg.username || 'virtbot').length + 1; // '~' for unidented users
    const host = user?.host ? Math.max(user.host.length, 1) : ASSUMED_HOST_BYTES;
    const prefix = 1 + Buffer.byteLength(nick) + 1 + ident + 1 + host + 1; // ":nick!~user@host "
    const overhead = prefix + command.length + 1 + Buffer.byteLength(target) + 2 + 2; // " :" and CR LF
    return IRC_LINE_BYTES - overhead;
  }

  private queueLines(command: OutLine['command'], target: string, text: string): number {
    const lines = splitLines(text, this.maxTextBytes(command, target));
    this.outbox.push(...lines.map((line) => ({ command, target, text: line })));
    return lines.length;
  }

  /** Sends replies: channel replies to the channel (long ones summarized, the rest privately), private ones as NOTICE/PM. */
  render(place: Place, nick: string, replies: Reply[]): void {
    const privateCommand: OutLine['command'] =
      place.private || this.cfg.privateAs === 'privmsg' ? 'PRIVMSG' : 'NOTICE';
    for (const reply of replies) {
      if (reply.private || place.private) {
        this.queueLines(privateCommand, nick, reply.text);
        continue;
      }
      const limit = Math.min(
        this.maxTextBytes('PRIVMSG', place.channel),
        this.maxTextBytes(privateCommand, nick),
      );
      const lines = splitLines(reply.text, limit);
      if (lines.length <= this.cfg.maxChannelLines) {
        this.outbox.push(
          ...lines.map((text) => ({ command: 'PRIVMSG' as const, target: place.channel, text })),
        );
        continue;
      }
      const shown = lines.slice(0, this.cfg.maxChannelLines - 1);
      const rest = lines.slice(shown.length);
      const summary = `${nick}: … ${rest.length} more line${rest.length === 1 ? '' : 's'} sent to you privately`;
      this.outbox.push(
        ...[...shown, summary].map((text) => ({ command: 'PRIVMSG' as const, target: place.channel, text })),
      );
      this.outbox.push(...rest.map((text) => ({ command: privateCommand, target: nick, text })));
    }
  }

  /** Joins a channel now (configured channels are joined on every connect). */
  join(channel: string): void {
    if (this.registered) this.client?.join(channel);
  }

  /** Says something in a channel or to a nick outside of a reply (announcements, meeting reminders). */
  say(target: string, text: string): void {
    this.queueLines('PRIVMSG', target, text);
  }

  /** Resolves when everything queued has been handed to the socket. */
  flushed(): Promise<void> {
    return this.outbox.idle();
  }
}
