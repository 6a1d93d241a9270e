/**
 * The IRC transport (irc-framework): one instance per configured network.
 *
 * Identity: the sender's services account from the IRCv3 account-tag when the server offers it;
 * otherwise an account tracked for a nick only while it can be kept current (see
 * irc-accounts.ts), or a WHOIS sent for that very line. A bare nick proves nothing.
 *
 * Output: all the replies to one line are one unit with one budget (budget.ts), sanitized
 * (sanitize.ts), split at IRC's 512-byte line limit, and queued fairly per requester with flood
 * control for the connection and pacing per channel that keeps under its `+f` (outbox.ts).
 *
 * Manners: regains its nick, sets +B where the server has a bot mode, ignores other bots,
 * rejoins after a kick, a ban or an INVITE, keeps quiet about unknown `!words`, answers CTCP
 * PING and VERSION, explains TLS, SASL and server errors in the log, and reports what it really
 * said (and what a channel refused) as ChatEvents.
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
import { channelNameOf, type IrcNetworkConfig } from '../config/sections/transports.js';
import type { ChatEvent, InboundMessage, Place, Reply, Sender } from '../core/types.js';
import { type AddressRules, address, type Conversation, replyPrefix } from './address.js';
import { type BudgetLimits, budget } from './budget.js';
import { AccountTracker } from './irc-accounts.js';
import { describeSaslFailure, describeSocketError } from './irc-errors.js';
import { ircLines, renderIrc } from './irc-render.js';
import { Outbox } from './outbox.js';
import { ircLine } from './sanitize.js';
import { splitLine, stripIrcFormatting } from './text.js';
import {
  backoffDelay,
  type ChatEventHandler,
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
/** Rejoining a channel that refused us (ban, +i, +l, +k): from this delay, doubling, up to the max. */
const REJOIN_MIN_MS = 10_000;
const REJOIN_MAX_MS = 600_000;
/** Extra time on top of a channel's +f window, for lines that bunch up on their way to the server. */
const FLOOD_MARGIN_MS = 250;
/** IRCv3 bot mode: messages from bots carry one of these tags. */
const BOT_TAGS = ['bot', 'draft/bot', 'inspircd.org/bot'];

interface OutLine {
  command: 'PRIVMSG' | 'NOTICE' | 'TOPIC';
  target: string;
  text: string;
  /** Lines to a channel: where, for the 'sent' / 'refused' events. */
  place?: Place;
  /** The nick the line answers, to be told once when the channel refuses it. */
  requester?: string;
  /** The unit (one command's replies) the line belongs to. */
  unit?: number;
}

/** A channel line handed to the server and not yet known to be accepted (see confirm()). */
interface InFlight {
  marker: number;
  line: OutLine;
}

export interface IrcTransportEvents {
  connected: [nick: string];
  joined: [channel: string];
  /** A configured channel refused the bot (ban, +i, +l, +k, kick); it will try again. */
  refusedJoin: [channel: string, why: string];
  /** The bot left a channel: parted, kicked (with who and why). */
  left: [channel: string, kickedBy?: string, reason?: string];
  disconnected: [reason: string];
  reconnecting: [attempt: number, delayMs: number];
  /** A line went through the handler (for tests and metrics). */
  handled: [msg: InboundMessage, replies: Reply[]];
  /** The member list (WHO/WHOX) of a joined channel was read. */
  who: [channel: string];
  /** The channel's modes (MODE #channel) were read. */
  modes: [channel: string];
  /** The bot's nick changed (regained, or forced). */
  nick: [nick: string];
  /** The same ChatEvents the handler gets. */
  chat: [event: ChatEvent];
}

export interface IrcTransportOptions {
  logger?: TransportLogger;
  /** What happens in conversations besides lines said (nick changes, what was sent, topics). */
  onEvent?: ChatEventHandler;
  /** virtbot's version, for CTCP VERSION. */
  version?: string;
  /** How often to ask ISON for the wanted nick where the server has no MONITOR (tests shorten it). */
  isonIntervalMs?: number;
  /** Backoff for rejoining a channel that refused us (tests shorten it). */
  rejoinDelays?: { minMs: number; maxMs: number };
}

interface ChannelState {
  /** Parsed `+f lines:secs`, or null when the channel has no +f. Undefined: not known yet. */
  flood?: { lines: number; seconds: number } | null;
  /** Channel modes without parameters that matter here (t, m). */
  modes: Set<string>;
  /** The bot's own prefix modes here (o, h, v…). */
  own: Set<string>;
}

export class IrcTransport extends EventEmitter<IrcTransportEvents> implements Transport {
  readonly name: string;
  private cfg: IrcNetworkConfig;
  private client: Client | undefined;
  private readonly outbox: Outbox<OutLine>;
  private readonly logger: TransportLogger;
  private readonly onEvent: ChatEventHandler | undefined;
  private readonly version: string;
  private readonly isonIntervalMs: number;
  private readonly rejoinDelays: { minMs: number; maxMs: number };
  /** Accounts of the people we share a channel with (see irc-accounts.ts for when they are believed). */
  private readonly tracker = new AccountTracker((text) => this.lower(text));
  /** WHOIS requests in flight, per lower-cased nick, in the order sent (the server answers in order). */
  private readonly whoisWaiting = new Map<string, Array<(w: Record<string, unknown> | undefined) => void>>();
  /** Joined channels (lower-cased) and what we know about them. */
  private readonly channels = new Map<string, ChannelState>();
  /** Configured channels that refused us, with their retry timers and attempts. */
  private readonly rejoins = new Map<string, { attempt: number; timer?: NodeJS.Timeout }>();
  /** Channel lines sent and not yet confirmed by the PONG that follows each. */
  private inFlight: InFlight[] = [];
  private marker = 0;
  private unitSeq = 0;
  /** Units whose requester was already told that the channel refused them. */
  private readonly toldRefused = new Set<number>();
  private stopped = true;
  private registered = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private isonTimer: NodeJS.Timeout | undefined;
  /** Why the connection is about to close, in plain words (a TLS, SASL or server error). */
  private closeReason: string | undefined;
  private secrets: { password?: string; sasl?: string; keys: Map<string, string> } | undefined;
  /** Our nick as the server knows it (irc-framework's own copy lags behind its events). */
  private currentNick: string | undefined;
  /** CTCP answers: a small token bucket (3 at once, then one a second). */
  private ctcpTokens = { tokens: 3, at: 0 };
  /** The end of the registration burst (MOTD) was seen: ISUPPORT is known. */
  private burstDone = false;
  /** An ISON for the wanted nick is out (its answer says whether the nick is free). */
  private isonPending = false;

  constructor(
    cfg: IrcNetworkConfig,
    private readonly handler: MessageHandler,
    options: IrcTransportOptions | TransportLogger = {},
  ) {
    super();
    const opts: IrcTransportOptions = 'info' in options ? { logger: options as TransportLogger } : options;
    this.cfg = cfg;
    this.name = `irc:${cfg.name}`;
    this.logger = opts.logger ?? silentLogger;
    this.onEvent = opts.onEvent;
    this.version = opts.version ?? 'unknown';
    this.isonIntervalMs = opts.isonIntervalMs ?? 30_000;
    this.rejoinDelays = opts.rejoinDelays ?? { minMs: REJOIN_MIN_MS, maxMs: REJOIN_MAX_MS };
    this.outbox = new Outbox<OutLine>((line) => this.transmit(line), {
      burst: cfg.flood.burst,
      rate: cfg.flood.rate,
      windowOf: (line) => this.paceOf(line),
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
    return this.currentNick ?? this.wantedNick;
  }

  /** The configured nick (the one regained when someone else holds it). */
  get wantedNick(): string {
    return this.cfg.nick ?? 'virtbot';
  }

  private get prefix(): string {
    return this.cfg.prefix ?? '!';
  }

  /** Lines waiting in the flood-controlled queue. */
  get queued(): number {
    return this.outbox.size;
  }

  /** The channels the bot is in (lower-cased). */
  get joinedChannels(): string[] {
    return [...this.channels.keys()];
  }

  /**
   * Reads the secrets and connects. Resolves once registered with the server. If the first
   * attempt fails it rejects (so the caller can report it), and keeps retrying with backoff in
   * the background until stop(): a network that cannot be reached never holds up the others.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.secrets = await this.readSecrets(this.cfg);
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
    this.clearRejoins();
    this.outbox.pause();
    this.outbox.clear();
    await this.disconnect('virtbot stopping');
  }

  /**
   * Applies a new configuration of this network (SIGHUP). Connection settings that changed
   * reconnect; channels are joined and parted; everything else applies from the next line.
   * Returns what changed, for the log.
   */
  async reconfigure(next: IrcNetworkConfig): Promise<string[]> {
    const before = this.cfg;
    const changes: string[] = [];
    const connection = (c: IrcNetworkConfig) =>
      JSON.stringify([
        c.host,
        c.port,
        c.tls,
        c.tlsVerify,
        c.nick,
        c.username,
        c.realname,
        c.password,
        c.sasl,
      ]);
    const reconnect = connection(before) !== connection(next);
    this.cfg = next;
    this.outbox.setRate(next.flood.burst, next.flood.rate);
    if (reconnect) {
      changes.push('connection settings: reconnecting');
      this.secrets = await this.readSecrets(next);
      if (!this.stopped) {
        await this.disconnect('virtbot reconnecting (configuration changed)');
        this.attempt = 0;
        this.connect();
      }
      return changes;
    }
    this.secrets = await this.readSecrets(next);
    const names = (c: IrcNetworkConfig) => new Set(c.channels.map((e) => this.lower(channelNameOf(e))));
    const was = names(before);
    const now = names(next);
    for (const entry of next.channels) {
      const name = channelNameOf(entry);
      if (!was.has(this.lower(name))) {
        changes.push(`joining ${name}`);
        this.joinConfigured(name);
      }
    }
    for (const entry of before.channels) {
      const name = channelNameOf(entry);
      if (!now.has(this.lower(name))) {
        changes.push(`leaving ${name}`);
        this.cancelRejoin(name);
        if (this.registered) this.client?.part(name, 'no longer configured');
      }
    }
    if (JSON.stringify({ ...before, channels: [] }) !== JSON.stringify({ ...next, channels: [] }))
      changes.push('settings (prefix, budgets, flood control, …)');
    return changes;
  }

  private async readSecrets(cfg: IrcNetworkConfig): Promise<NonNullable<IrcTransport['secrets']>> {
    const keys = new Map<string, string>();
    for (const entry of cfg.channels) {
      if (typeof entry === 'string') continue;
      const key =
        typeof entry.key === 'string'
          ? entry.key
          : await readSecret(entry.key, `${this.name} key of ${entry.name}`);
      keys.set(entry.name.toLowerCase(), key);
    }
    return {
      keys,
      ...(cfg.password ? { password: await readSecret(cfg.password, `${this.name} password`) } : {}),
      ...(cfg.sasl ? { sasl: await readSecret(cfg.sasl.password, `${this.name} SASL password`) } : {}),
    };
  }

  private async disconnect(message: string): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.resetConnectionState();
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        client.quit(message);
      });
    } else {
      client.connection.end();
    }
    client.removeAllListeners();
  }

  private connect(): void {
    const client = new IRC.Client();
    this.client = client;
    this.closeReason = undefined;
    const { cfg } = this;
    const nick = this.wantedNick;
    const options: IrcClientOptions = {
      host: cfg.host,
      port: cfg.port,
      tls: cfg.tls,
      rejectUnauthorized: cfg.tlsVerify,
      nick,
      username: cfg.username ?? (nick.replace(/[^A-Za-z0-9]/g, '').slice(0, 10) || 'virtbot'),
      gecos: cfg.realname,
      // CTCP VERSION is answered here (through the flood control), not by irc-framework.
      version: null,
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
    const on = (event: string, fn: (...args: never[]) => void) => client.on(event, mine(fn));

    on('registered', (e: { nick: string }) => this.onRegistered(e.nick));
    on('motd', () => this.afterBurst(client));
    on('socket close', (err: unknown) => {
      this.outbox.pause();
      if (err && this.closeReason === undefined) this.closeReason = describeSocketError(err, cfg);
    });
    on('close', () => this.onClose(this.closeReason ?? 'connection closed'));
    on('irc error', (e: IrcErrorEvent) => this.onIrcError(e));
    on('sasl failed', (e: { reason: string; message?: string }) => {
      const reason = describeSaslFailure(e.reason, cfg.sasl?.account ?? '');
      this.logger.warn(
        {
          transport: this.name,
          reason: e.reason,
          message: e.message,
          disconnecting: cfg.sasl?.required ?? false,
        },
        reason,
      );
      if (cfg.sasl?.required) this.closeReason = reason;
    });
    on('nick in use', (e: { nick?: string }) => {
      if (this.registered) return; // our attempt to regain it failed; keep watching
      const taken = e.nick ?? client.user.nick;
      const next = `${taken}_`;
      this.logger.warn({ transport: this.name, nick: taken, trying: next }, 'nick is taken; trying another');
      client.changeNick(next);
    });
    on('privmsg', (e: MessageEvent) => void this.onMessage(e, false));
    on('action', (e: MessageEvent) => void this.onMessage(e, true));
    on('ctcp request', (e: MessageEvent & { type: string | null }) => this.onCtcp(e));
    on('join', (e: JoinEvent) => this.onJoin(client, e));
    on('part', (e: PartEvent) => this.onLeave(e.nick, e.channel));
    on('kick', (e: KickEvent) => this.onLeave(e.kicked, e.channel, e.nick, e.message));
    on('quit', (e: QuitEvent) => this.onQuit(e.nick));
    on('nick', (e: NickEvent) => this.onNick(client, e));
    on('account', (e: AccountEvent) => this.tracker.accountChanged(e.nick, e.account || false));
    on('whois', (w: Record<string, unknown>) => this.onWhois(w));
    on('invite', (e: { nick: string; invited: string; channel: string }) => this.onInvite(e));
    on('topic', (e: { channel: string; topic: string; nick?: string }) => this.onTopic(e));
    on('channel info', (e: ChannelInfoEvent) => this.onChannelInfo(e));
    on('mode', (e: ModeEvent) => this.onMode(e));
    on('userlist', (e: { channel: string; users: Array<{ nick: string; modes: string[] }> }) => {
      const me = e.users.find((u) => this.isSelf(u.nick));
      const state = this.channels.get(this.lower(e.channel));
      if (me && state) state.own = new Set(me.modes);
    });
    on('pong', (e: { message?: string }) => this.onPong(e.message));
    on('users offline', (e: { nicks: string[] }) => {
      if (e.nicks.some((n) => this.lower(n) === this.lower(this.wantedNick))) this.takeNick(client);
    });
    on('users online', (e: { nicks: string[] }) => {
      // ISON's answer: the wanted nick is free when it is not among those online.
      if (this.isonPending && !e.nicks.some((n) => this.lower(n) === this.lower(this.wantedNick)))
        this.takeNick(client);
      this.isonPending = false;
    });

    this.logger.info(
      { transport: this.name, host: cfg.host, port: cfg.port, tls: cfg.tls, attempt: this.attempt },
      'connecting',
    );
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.client === client && !this.registered) {
        this.logger.warn({ transport: this.name }, 'registration timed out');
        this.closeReason = 'registration timed out';
        client.connection.end();
        this.onClose('registration timed out');
      }
    }, CONNECT_TIMEOUT_MS);
    client.connect(options);
  }

  private onRegistered(nick: string): void {
    clearTimeout(this.connectTimer);
    this.registered = true;
    this.currentNick = nick;
    this.attempt = 0;
    this.logger.info({ transport: this.name, nick }, 'registered');
    for (const entry of this.cfg.channels) this.joinConfigured(channelNameOf(entry));
    this.outbox.resume();
    this.emit('connected', nick);
  }

  /** After the welcome burst (end of MOTD), when the server's ISUPPORT is known. */
  private afterBurst(client: Client): void {
    if (this.burstDone || !this.registered) return;
    this.burstDone = true;
    // IRCv3 bot mode (ISUPPORT BOT=B): say we are one.
    const botMode = client.network.supports('BOT');
    if (typeof botMode === 'string' && /^[A-Za-z]$/.test(botMode))
      client.raw('MODE', this.nick, `+${botMode}`);
    if (this.lower(this.nick) !== this.lower(this.wantedNick)) this.regainNick(client);
  }

  private onClose(reason: string): void {
    clearTimeout(this.connectTimer);
    const client = this.client;
    if (client) client.removeAllListeners();
    this.client = undefined;
    this.resetConnectionState();
    this.emit('disconnected', reason);
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, this.cfg.reconnect.minDelayMs, this.cfg.reconnect.maxDelayMs);
    this.attempt++;
    this.logger.warn(
      { transport: this.name, reason, attempt: this.attempt, delayMs: delay },
      `disconnected (${reason}); reconnecting`,
    );
    this.emit('reconnecting', this.attempt, delay);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }

  private resetConnectionState(): void {
    this.registered = false;
    this.burstDone = false;
    this.currentNick = undefined;
    this.outbox.pause();
    this.channels.clear();
    this.tracker.clear();
    this.clearWhois();
    this.clearRejoins();
    this.inFlight = [];
    this.toldRefused.clear();
    clearTimeout(this.isonTimer);
    this.isonTimer = undefined;
    this.isonPending = false;
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

  private isConfigured(channel: string): boolean {
    return this.cfg.channels.some((e) => this.lower(channelNameOf(e)) === this.lower(channel));
  }

  // ---- nick --------------------------------------------------------------------------------

  /** Someone else holds our nick: ask services for it (if configured), and watch for it to free. */
  private regainNick(client: Client): void {
    const wanted = this.wantedNick;
    const regain = this.cfg.regainNick;
    this.logger.warn(
      { transport: this.name, nick: this.nick, wanted, regain: regain?.method ?? 'watch only' },
      `nick ${wanted} is taken; using ${this.nick} and taking ${wanted} back when it frees`,
    );
    if (regain) {
      const command = regain.method.toUpperCase();
      client.say(regain.service, `${command} ${wanted}`);
    }
    if (hasMonitor(client)) {
      client.addMonitor(wanted);
      return;
    }
    const ask = () => {
      if (this.client !== client || !this.registered || this.isSelf(wanted)) return;
      this.isonPending = true;
      client.raw('ISON', wanted);
      this.isonTimer = setTimeout(ask, this.isonIntervalMs);
      this.isonTimer.unref();
    };
    ask();
  }

  private takeNick(client: Client): void {
    if (this.isSelf(this.wantedNick) || !this.registered) return;
    client.changeNick(this.wantedNick);
  }

  private onNick(client: Client, e: NickEvent): void {
    this.tracker.renamed(e.nick, e.new_nick);
    const event: ChatEvent = {
      type: 'nick',
      transport: 'irc',
      network: this.cfg.name,
      from: e.nick,
      to: e.new_nick,
      time: eventTime(e),
    };
    this.chat(event);
    if (this.currentNick !== undefined && this.lower(e.nick) === this.lower(this.currentNick)) {
      this.currentNick = e.new_nick;
      const regained = this.lower(e.new_nick) === this.lower(this.wantedNick);
      this.logger.info(
        { transport: this.name, from: e.nick, nick: e.new_nick },
        regained ? 'regained nick' : 'nick changed',
      );
      if (regained) {
        clearTimeout(this.isonTimer);
        if (hasMonitor(client)) client.removeMonitor(this.wantedNick);
      }
      this.emit('nick', e.new_nick);
      return;
    }
    // Someone gave up our nick in sight: take it now.
    if (this.lower(e.nick) === this.lower(this.wantedNick)) this.takeNick(client);
  }

  private onQuit(nick: string): void {
    this.tracker.forget(nick);
    const client = this.client;
    if (client && this.lower(nick) === this.lower(this.wantedNick)) this.takeNick(client);
  }

  // ---- channels ----------------------------------------------------------------------------

  private joinConfigured(channel: string): void {
    const client = this.client;
    if (!client || !this.registered) return;
    const key = this.secrets?.keys.get(channel.toLowerCase());
    if (key !== undefined) client.join(channel, key);
    else client.join(channel);
  }

  /** A configured channel refused us (or kicked us): try again later, backing off. */
  private scheduleRejoin(channel: string, why: string): void {
    if (!this.isConfigured(channel) || this.stopped) return;
    const key = this.lower(channel);
    const state = this.rejoins.get(key) ?? { attempt: 0 };
    clearTimeout(state.timer);
    const delay = backoffDelay(state.attempt, this.rejoinDelays.minMs, this.rejoinDelays.maxMs);
    state.attempt += 1;
    this.logger.warn(
      { transport: this.name, channel, why, attempt: state.attempt, delayMs: delay },
      `cannot be in ${channel} (${why}); trying again in ${Math.round(delay / 1000)} s`,
    );
    const client = this.client;
    state.timer = setTimeout(() => {
      if (this.client === client && this.registered) this.joinConfigured(channel);
    }, delay);
    state.timer.unref();
    this.rejoins.set(key, state);
    this.emit('refusedJoin', channel, why);
  }

  private cancelRejoin(channel: string): void {
    const state = this.rejoins.get(this.lower(channel));
    clearTimeout(state?.timer);
    this.rejoins.delete(this.lower(channel));
  }

  private clearRejoins(): void {
    for (const state of this.rejoins.values()) clearTimeout(state.timer);
    this.rejoins.clear();
  }

  private onInvite(e: { nick: string; invited: string; channel: string }): void {
    if (!this.isSelf(e.invited)) return;
    if (!this.isConfigured(e.channel)) {
      this.logger.info(
        { transport: this.name, channel: e.channel, by: e.nick },
        'invited to a channel that is not configured; not joining',
      );
      return;
    }
    this.logger.info({ transport: this.name, channel: e.channel, by: e.nick }, 'invited: joining');
    this.cancelRejoin(e.channel);
    this.joinConfigured(e.channel);
  }

  private onIrcError(e: IrcErrorEvent): void {
    switch (e.error) {
      case 'banned_from_channel':
      case 'invite_only_channel':
      case 'channel_is_full':
      case 'bad_channel_key':
        if (e.channel)
          this.scheduleRejoin(e.channel, `${e.error.replace(/_/g, ' ')}: ${e.reason ?? ''}`.trim());
        return;
      case 'cannot_send_to_channel':
        if (e.channel) this.onRefused(e.channel, e.reason ?? 'cannot send to channel');
        return;
      case 'irc':
        // ERROR from the server: it is closing the connection, and says why (K-line, flood, …).
        if (this.closeReason === undefined)
          this.closeReason = `the server closed the connection: ${e.reason ?? ''}`.trim();
        return;
      case 'password_mismatch':
        this.closeReason = 'the server refused the connection password (PASS)';
        return;
      default:
        this.logger.debug({ transport: this.name, error: e.error, reason: e.reason }, 'IRC error');
    }
  }

  private onChannelInfo(e: ChannelInfoEvent): void {
    const state = this.channels.get(this.lower(e.channel));
    if (!state || !e.modes) return;
    state.flood = null;
    state.modes.clear();
    for (const m of e.modes) this.applyChannelMode(state, m.mode, m.param);
    this.emit('modes', e.channel);
  }

  private onMode(e: ModeEvent): void {
    if (!this.isChannel(e.target)) return;
    const state = this.channels.get(this.lower(e.target));
    if (!state) return;
    for (const m of e.modes) {
      const letter = m.mode.slice(1);
      if (typeof m.param === 'string' && this.isSelf(m.param) && 'qaohv'.includes(letter)) {
        if (m.mode.startsWith('+')) state.own.add(letter);
        else state.own.delete(letter);
        continue;
      }
      this.applyChannelMode(state, m.mode, m.param);
    }
  }

  private applyChannelMode(state: ChannelState, mode: string, param?: string | null): void {
    const adding = mode.startsWith('+');
    const letter = mode.slice(1);
    if (letter === 'f') {
      // InspIRCd's +f [*]lines:secs. Other servers' +f formats are left to channelPace.
      const m = adding ? /^\*?(\d+):(\d+)$/.exec(param ?? '') : null;
      state.flood = m ? { lines: Number(m[1]), seconds: Number(m[2]) } : null;
      return;
    }
    if (letter === 't' || letter === 'm') {
      if (adding) state.modes.add(letter);
      else state.modes.delete(letter);
    }
  }

  private onTopic(e: { channel: string; topic: string; nick?: string }): void {
    const event: ChatEvent = {
      type: 'topic',
      place: this.channelPlace(e.channel),
      topic: e.topic,
      time: new Date(),
      ...(e.nick ? { by: e.nick } : {}),
    };
    this.chat(event);
  }

  // ---- identity tracking ----------------------------------------------------------------

  private onJoin(client: Client, e: JoinEvent): void {
    if (this.isSelf(e.nick)) {
      const key = this.lower(e.channel);
      this.channels.set(key, { modes: new Set(), own: new Set() });
      this.cancelRejoin(e.channel);
      this.logger.info({ transport: this.name, channel: e.channel }, 'joined');
      // The channel's modes: +f for pacing, +t and +m for the topic and for refusals.
      client.raw('MODE', e.channel);
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

  private onLeave(nick: string, channelName: string, by?: string, reason?: string): void {
    if (this.isSelf(nick)) {
      this.channels.delete(this.lower(channelName));
      this.tracker.selfLeft(channelName);
      this.emit('left', channelName, by, reason);
      // Kicked, or parted by someone else's doing, from a configured channel: go back after a while.
      if (by !== undefined) this.scheduleRejoin(channelName, `kicked by ${by}: ${reason ?? ''}`.trim());
      return;
    }
    this.tracker.left(nick, channelName);
  }

  /**
   * The sender's services account, proven by the server for this message; undefined when not
   * logged in, unknown, or not provable in time.
   *
   * - account-tag: the server vouches for this very message; no tag means not logged in.
   * - otherwise a tracked account, only while it is kept current (account-notify, and a channel
   *   shared with the nick: see AccountTracker);
   * - otherwise, for a line addressed to the bot, a WHOIS sent after the line arrived and
   *   answered for the same user@host, within `identityTimeoutMs`; else anonymous.
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

  /** Sends a WHOIS now and resolves with its own answer (or undefined after identityTimeoutMs). */
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
      const timer = setTimeout(() => finish(undefined), this.cfg.identityTimeoutMs);
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

  private addressRules(): AddressRules {
    return { prefix: this.prefix, names: [this.nick, this.wantedNick] };
  }

  private async onMessage(e: MessageEvent, action: boolean): Promise<void> {
    if (e.from_server || !e.nick || this.isSelf(e.nick)) return;
    // Other bots (IRCv3 bot mode) are not people: their lines are neither commands nor chatter for us.
    if (BOT_TAGS.some((tag) => e.tags[tag] !== undefined)) return;
    const isPrivate = !this.isChannel(e.target);
    const clean = stripIrcFormatting(e.message).replace(/[\r\n\0]/g, ' ');
    const conversation: Conversation = { direct: isPrivate, action };
    const rules = this.addressRules();
    const { addressed, text, via } = address(clean, conversation, rules);
    if (addressed && text === '') return;
    const place: Place = isPrivate ? this.privatePlace(e.nick) : this.channelPlace(e.target);
    const account = await this.accountOf(e, addressed);
    const sender: Sender = { nick: e.nick, hostmask: `${e.nick}!${e.ident}@${e.hostname}` };
    if (account) sender.account = account;
    const msg: InboundMessage = {
      place,
      sender,
      text,
      time: typeof e.time === 'number' ? new Date(e.time) : new Date(),
      addressed,
      replyPrefix: replyPrefix(conversation, rules),
      ...(action ? { action: true } : {}),
      ...(e.tags['msgid'] ? { id: e.tags['msgid'] } : {}),
    };
    let replies: Reply[];
    try {
      replies = await this.handler(msg);
    } catch (err) {
      this.logger.error({ transport: this.name, err, text: msg.text }, 'handler failed');
      replies = addressed ? [{ text: 'internal error (logged)', kind: 'error', private: true }] : [];
    }
    // `!seen bob` for another bot: an unknown word after the prefix in a channel gets no answer.
    if (this.cfg.quietUnknown && !isPrivate && via === 'prefix')
      replies = replies.filter((r) => !r.unknownCommand);
    this.render(place, { nick: e.nick, ...(account ? { account } : {}) }, replies);
    this.emit('handled', msg, replies);
  }

  private channelPlace(channel: string): Place {
    return {
      transport: 'irc',
      network: this.cfg.name,
      channel,
      private: false,
      hearsChatter: true,
      ...this.networkLabel(),
    };
  }

  private privatePlace(nick: string): Place {
    return {
      transport: 'irc',
      network: this.cfg.name,
      channel: nick,
      private: true,
      hearsChatter: true,
      ...this.networkLabel(),
    };
  }

  private networkLabel(): { networkLabel?: string } {
    const network = this.client?.network.supports('NETWORK');
    return typeof network === 'string' && network !== '' ? { networkLabel: network } : {};
  }

  private onCtcp(e: MessageEvent & { type: string | null }): void {
    if (!e.nick || this.isSelf(e.nick) || BOT_TAGS.some((tag) => e.tags[tag] !== undefined)) return;
    // A few CTCP answers, then one a second: CTCP is a favourite of reflection floods.
    const now = Date.now();
    const bucket = this.ctcpTokens;
    bucket.tokens = Math.min(3, bucket.tokens + (now - bucket.at) / 1000);
    bucket.at = now;
    if (bucket.tokens < 1) return;
    let answer: string | undefined;
    if (e.type === 'VERSION') answer = `VERSION virtbot ${this.version}`;
    else if (e.type === 'PING') {
      const token = e.message
        .slice(5)
        .replace(/[^\w .:-]/g, '')
        .slice(0, 64);
      answer = token === '' ? 'PING' : `PING ${token}`;
    }
    if (answer === undefined) return;
    bucket.tokens -= 1;
    this.outbox.enqueue({ key: `ctcp:${this.lower(e.nick)}`, anonymous: true }, [
      { command: 'NOTICE', target: e.nick, text: `\x01${answer}\x01` },
    ]);
  }

  // ---- output ---------------------------------------------------------------------------

  /** Bytes left for the text of `COMMAND target :text` once the server adds `:nick!user@host `. */
  maxTextBytes(command: string, target: string): number {
    const user = this.client?.user;
    const nick = this.nick;
    const ident = (user?.username || this.cfg.username || 'virtbot').length + 1; // '~' for unidented users
    const host = user?.host ? Math.max(user.host.length, 1) : ASSUMED_HOST_BYTES;
    const prefix = 1 + Buffer.byteLength(nick) + 1 + ident + 1 + host + 1; // ":nick!~user@host "
    const overhead = prefix + command.length + 1 + Buffer.byteLength(target) + 2 + 2; // " :" and CR LF
    return IRC_LINE_BYTES - overhead;
  }

  /** The channel's pacing: under its +f when known, else channelPace. */
  private paceOf(line: OutLine): { key: string; lines: number; ms: number } | undefined {
    if (line.command === 'TOPIC' || !this.isChannel(line.target)) return undefined;
    const key = this.lower(line.target);
    const flood = this.channels.get(key)?.flood;
    if (flood) {
      return { key, lines: Math.max(1, flood.lines - 1), ms: (flood.seconds + 1) * 1000 + FLOOD_MARGIN_MS };
    }
    return { key, lines: this.cfg.channelPace.lines, ms: this.cfg.channelPace.seconds * 1000 };
  }

  private limitsFor(anonymous: boolean): BudgetLimits {
    return anonymous
      ? {
          channelLines: Math.min(this.cfg.anonymousBudget.channelLines, this.cfg.maxChannelLines),
          privateLines: Math.min(this.cfg.anonymousBudget.privateLines, this.cfg.maxPrivateLines),
        }
      : { channelLines: this.cfg.maxChannelLines, privateLines: this.cfg.maxPrivateLines };
  }

  /**
   * Sends the replies to one line as one unit: within the requester's budget, a short part to
   * the channel and the rest privately (NOTICE, or PRIVMSG with privateAs), fairly queued.
   */
  render(place: Place, requester: { nick: string; account?: string }, replies: Reply[]): void {
    if (replies.length === 0) return;
    const nick = requester.nick;
    const anonymous = requester.account === undefined;
    const privateCommand: OutLine['command'] =
      place.private || this.cfg.privateAs === 'privmsg' ? 'PRIVMSG' : 'NOTICE';
    const width = place.private
      ? this.maxTextBytes('PRIVMSG', nick)
      : Math.min(this.maxTextBytes('PRIVMSG', place.channel), this.maxTextBytes(privateCommand, nick));
    const unit = ++this.unitSeq;
    const out = renderIrc(replies, { direct: place.private, nick, limits: this.limitsFor(anonymous), width });
    const lines: OutLine[] = [
      ...out.here.map((text) =>
        place.private
          ? { command: 'PRIVMSG' as const, target: nick, text }
          : { command: 'PRIVMSG' as const, target: place.channel, text, place, requester: nick, unit },
      ),
      ...out.privately.map((text) => ({ command: privateCommand, target: nick, text })),
    ];
    this.outbox.enqueue({ key: requester.account ?? `nick:${this.lower(nick)}`, anonymous }, lines);
    const topic = replies.find((r) => r.setTopic !== undefined)?.setTopic;
    if (topic !== undefined && !place.private) this.setTopic(place.channel, topic);
  }

  /** Says replies in a conversation of this network outside of a reply (events, notices). */
  async send(place: Place, replies: Reply[]): Promise<void> {
    if (place.transport !== 'irc' || place.network !== this.cfg.name)
      throw new Error(`${this.name} cannot send to ${place.transport}:${place.network}`);
    const target = place.channel;
    const out = budget(replies, {
      direct: true,
      limits: {
        channelLines: this.cfg.maxChannelLines,
        privateLines: place.private ? this.cfg.maxPrivateLines : this.cfg.maxChannelLines,
      },
      lines: (text) => ircLines(text, this.maxTextBytes('PRIVMSG', target)),
      movedNote: () => '',
    });
    const unit = ++this.unitSeq;
    this.outbox.enqueue(
      { key: '\u0000virtbot' },
      out.here.map((text) => ({
        command: 'PRIVMSG' as const,
        target,
        text,
        ...(place.private ? {} : { place, unit }),
      })),
    );
    const topic = replies.find((r) => r.setTopic !== undefined)?.setTopic;
    if (topic !== undefined && !place.private) this.setTopic(target, topic);
  }

  /** Sets a channel's topic where the bot may (operator, or the channel is not +t); otherwise logs why not. */
  private setTopic(channel: string, topic: string): void {
    const state = this.channels.get(this.lower(channel));
    if (!state) {
      this.logger.info({ transport: this.name, channel }, 'not setting the topic: not in the channel');
      return;
    }
    const mayChange = !state.modes.has('t') || ['q', 'a', 'o', 'h'].some((m) => state.own.has(m));
    if (!mayChange) {
      this.logger.info(
        { transport: this.name, channel },
        'not setting the topic: the channel is +t and the bot is not a channel operator',
      );
      return;
    }
    const max = Number(this.client?.network.supports('TOPICLEN')) || 300;
    const text =
      splitLine(ircLine(topic), Math.max(4, Math.min(max, this.maxTextBytes('TOPIC', channel))))[0] ?? '';
    this.outbox.enqueue({ key: '\u0000virtbot' }, [{ command: 'TOPIC', target: channel, text }]);
  }

  /** Hands one queued line to the server; a channel line is followed by a PING that confirms it. */
  private transmit(line: OutLine): void {
    const client = this.client;
    if (!client) return;
    client.raw(line.command, line.target, line.text);
    if (line.place && line.command !== 'TOPIC') {
      const marker = ++this.marker;
      this.inFlight.push({ marker, line });
      client.raw('PING', `vb${marker}`);
    }
  }

  /**
   * PONG vbN: the server has processed everything sent before PING vbN, so the channel lines up
   * to N it did not refuse were said: 'sent' events, in order.
   */
  private onPong(message: string | undefined): void {
    const m = /^vb(\d+)$/.exec(message ?? '');
    if (!m) return;
    const upTo = Number(m[1]);
    while (this.inFlight.length > 0 && this.inFlight[0]!.marker <= upTo) {
      const { line } = this.inFlight.shift()!;
      this.chat({ type: 'sent', place: line.place!, text: line.text, time: new Date() });
    }
  }

  /** 404 ERR_CANNOTSENDTOCHAN: the oldest unconfirmed line to that channel was refused. */
  private onRefused(channel: string, reason: string): void {
    const index = this.inFlight.findIndex(
      (f) => f.line.place && this.lower(f.line.target) === this.lower(channel),
    );
    const refused = index >= 0 ? this.inFlight.splice(index, 1)[0]!.line : undefined;
    this.logger.warn({ transport: this.name, channel, reason }, `${channel} refused a line: ${reason}`);
    if (!refused?.place) return;
    this.chat({ type: 'refused', place: refused.place, text: refused.text, reason, time: new Date() });
    if (refused.requester && refused.unit !== undefined && !this.toldRefused.has(refused.unit)) {
      this.toldRefused.add(refused.unit);
      if (this.toldRefused.size > 1000) this.toldRefused.delete(this.toldRefused.values().next().value!);
      const command = this.cfg.privateAs === 'privmsg' ? 'PRIVMSG' : 'NOTICE';
      const text = ircLine(`I cannot speak in ${channel} (${reason}): my answer was not shown there`);
      this.outbox.enqueue({ key: `nick:${this.lower(refused.requester)}` }, [
        { command, target: refused.requester, text },
      ]);
    }
  }

  private chat(event: ChatEvent): void {
    try {
      this.onEvent?.(event);
    } catch (err) {
      this.logger.error({ transport: this.name, err }, 'chat event handler failed');
    }
    this.emit('chat', event);
  }

  /** Joins a channel now (configured channels are joined on every connect). */
  join(channel: string): void {
    if (this.registered) this.client?.join(channel);
  }

  /** Says text in a channel or to a nick outside of a reply. */
  say(target: string, text: string): void {
    const place = this.isChannel(target) ? this.channelPlace(target) : this.privatePlace(target);
    void this.send(place, [{ text, kind: 'reply' }]);
  }

  /** Resolves when everything queued has been handed to the socket. */
  flushed(): Promise<void> {
    return this.outbox.idle();
  }
}

interface IrcErrorEvent {
  error: string;
  channel?: string;
  nick?: string;
  reason?: string;
}

interface ChannelInfoEvent {
  channel: string;
  modes?: Array<{ mode: string; param?: string | null }>;
}

interface ModeEvent {
  target: string;
  nick: string;
  modes: Array<{ mode: string; param?: string | null }>;
}

function hasMonitor(client: Client): boolean {
  const monitor = client.network.supports('MONITOR');
  return monitor !== false && monitor !== undefined && monitor !== null;
}

function eventTime(e: unknown): Date {
  const time = (e as { time?: number }).time;
  return typeof time === 'number' ? new Date(time) : new Date();
}
