/**
 * The Discord transport (discord.js v14): one instance per configured Discord server (guild),
 * one gateway session per bot token.
 *
 * Input: slash commands (generated from the command declarations, registered per guild and
 * re-registered only when they change) as structured commands; text commands on mention and in
 * DMs (and with the prefix when the Message Content intent is configured); meeting lines in
 * channels when message content is available; Confirm/Cancel/Approve/Deny buttons; autocomplete
 * through the bot's CompletionHandler. Identity: the user id and their role ids in the guild.
 * `channels:` (ids or names) limits all of it to those channels; DMs are always served.
 *
 * Output: one unit per command (discord-render.ts): a part in the conversation, the rest
 * ephemeral (slash commands, buttons) or by DM (text commands); errors to interactions are
 * ephemeral. `allowed_mentions: { parse: [] }` on every message, edit, follow-up and interaction
 * response. A first answer is given within Discord's 3 seconds (deferred, ephemerally, when the
 * command is slow). Buttons update the message they are on, and are disabled when their code
 * lapses.
 *
 * A refused token (401, close 4004) or refused intents (4014) stop this server's connection
 * with an explanation in the log: retrying cannot help until the configuration changes.
 */
import { EventEmitter } from 'node:events';
import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  type CommandInteractionOption,
  DiscordAPIError,
  type DMChannel,
  Events,
  GatewayIntentBits,
  type GuildMember,
  type Interaction,
  type InteractionReplyOptions,
  type Message,
  MessageFlags,
  type NonThreadGuildBasedChannel,
  Partials,
  PermissionFlagsBits,
  Routes,
  type TextBasedChannel,
} from 'discord.js';
import type { CommandSpec } from '../command/spec.js';
import { readSecret } from '../config/read-secret.js';
import type { DiscordServerConfig } from '../config/sections/transports.js';
import type { ChatEvent, InboundMessage, Place, Reply, Sender } from '../core/types.js';
import { address, type Conversation } from './address.js';
import {
  type ActionRowJson,
  BUTTON_PREFIX,
  type ButtonAction,
  type DiscordOut,
  renderDiscord,
} from './discord-render.js';
import { discordText, plainLine } from './sanitize.js';
import {
  buildSlashCommands,
  commandsDiffer,
  invocationToText,
  type OptionValues,
  routeKey,
  type SlashCommand,
  type SlashRoute,
  type SlashSet,
} from './slash.js';
import { chunkText } from './text.js';
import {
  backoffDelay,
  type ChatEventHandler,
  type Completer,
  type Completion,
  type CompletionHandler,
  type MessageHandler,
  silentLogger,
  type Transport,
  type TransportLogger,
} from './transport.js';

export { DISCORD_MESSAGE_LIMIT } from './discord-render.js';

const RETRY = { minDelayMs: 5000, maxDelayMs: 300_000 };
/** Discord wants the first answer to an interaction within 3 s of it: defer no later than this. */
export const DEFER_CAP_MS = 2000;
/** Autocomplete answers must arrive within the same 3 s: stop waiting for completions after this. */
const COMPLETION_CAP_MS = 2000;
/** An interaction token edits its messages for 15 minutes. */
const TOKEN_LIFETIME_MS = 15 * 60_000;
const AUTOCOMPLETE_LIMIT = 25;
const CHOICE_LENGTH = 100;

/** Close codes after which retrying cannot help (@discordjs/ws does not reconnect either). */
const FATAL_CLOSES: Record<number, string> = {
  4004: 'authentication failed: the bot token is wrong, or was reset in the Discord Developer Portal',
  4010: 'invalid shard',
  4011: 'sharding required',
  4012: 'invalid API version',
  4013: 'invalid intents',
  4014: 'disallowed intents',
};

/** Tokens with a live session in this process: one token, one gateway session. */
const sessions = new Map<string, string>();

export interface DiscordTransportOptions {
  logger?: TransportLogger;
  /** Argument completion for slash commands (permissions and the chosen host are the bot's). */
  completions?: CompletionHandler;
  /** The older, narrow form (VM and host names only), used when `completions` is not given. */
  complete?: Completer;
  /** Nick changes, what was really sent or refused, topics. */
  onEvent?: ChatEventHandler;
  /** How long confirmation codes live: their buttons are disabled when they lapse. */
  confirmTimeoutSeconds?: number;
  /** Retry delays for a failed login (tests shorten them). */
  retry?: { minDelayMs: number; maxDelayMs: number };
}

export interface DiscordTransportEvents {
  ready: [];
  resumed: [];
  /** A message or interaction went through the handler (for tests and metrics). */
  handled: [msg: InboundMessage, replies: Reply[]];
  /** Slash commands were compared with the registered ones; `changed` when they were PUT. */
  synced: [changed: boolean];
  /** Discord refused the slash commands; the reasons name the commands and options. */
  registrationFailed: [reasons: string[]];
  /** The connection stopped for good (refused token or intents), with the explanation. */
  fatal: [reason: string];
  /** The buttons of a confirmation code were disabled (used, or lapsed). */
  buttonsDisabled: [code: string];
  /** The same ChatEvents the handler gets. */
  chat: [event: ChatEvent];
}

/** How the buttons of a code can be edited later (when it lapses). */
interface LiveButtons {
  rows: ActionRowJson[];
  edit: (rows: ActionRowJson[]) => Promise<unknown>;
  timer?: NodeJS.Timeout;
}

export class DiscordTransport extends EventEmitter<DiscordTransportEvents> implements Transport {
  readonly name: string;
  private cfg: DiscordServerConfig;
  private client: Client | undefined;
  private slash: SlashSet;
  private commands: readonly CommandSpec[];
  private stopped = true;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private token: string | undefined;
  private fatalReason: string | undefined;
  private readonly logger: TransportLogger;
  private readonly completions: CompletionHandler | undefined;
  private readonly onEvent: ChatEventHandler | undefined;
  private readonly confirmTimeoutMs: number;
  private readonly buttons = new Map<string, LiveButtons>();

  constructor(
    cfg: DiscordServerConfig,
    private readonly handler: MessageHandler,
    commands: readonly CommandSpec[],
    private readonly options: DiscordTransportOptions = {},
  ) {
    super();
    this.cfg = cfg;
    this.name = `discord:${cfg.name}`;
    this.logger = options.logger ?? silentLogger;
    this.completions = options.completions ?? adaptCompleter(options.complete);
    this.onEvent = options.onEvent;
    this.confirmTimeoutMs = (options.confirmTimeoutSeconds ?? 120) * 1000;
    this.commands = commands;
    this.slash = this.buildSlash();
    if (cfg.deferAfterMs > DEFER_CAP_MS) {
      this.logger.warn(
        { transport: this.name, deferAfterMs: cfg.deferAfterMs, cap: DEFER_CAP_MS },
        `deferAfterMs is capped at ${DEFER_CAP_MS} ms: Discord wants a first answer within 3 s of the interaction`,
      );
    }
  }

  private buildSlash(): SlashSet {
    const permission = this.cfg.destructivePermission;
    const set = buildSlashCommands(this.commands, {
      autocomplete: this.completions !== undefined,
      destructivePermission: permission === null ? null : PermissionFlagsBits[permission].toString(),
    });
    for (const reason of set.skipped)
      this.logger.warn({ transport: this.name, reason }, 'slash command skipped');
    for (const note of set.notes)
      this.logger.info({ transport: this.name, note }, 'slash commands adapted to Discord');
    return set;
  }

  /** The generated slash commands (what is registered in the guild). */
  get slashCommands(): SlashSet {
    return this.slash;
  }

  get connected(): boolean {
    return this.client?.isReady() ?? false;
  }

  /** Why the connection stopped for good, if it did. */
  get fatal(): string | undefined {
    return this.fatalReason;
  }

  /**
   * Logs in and registers the slash commands. Resolves when ready. If the first login fails it
   * rejects (so the caller can report it) and keeps retrying with backoff until stop() — unless
   * Discord refused the token or the intents, which no retry can mend.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    const token = await readSecret(this.cfg.token, `${this.name} token`);
    const holder = sessions.get(token);
    if (holder !== undefined && holder !== this.name) {
      throw new Error(
        `${this.name}: the same bot token is already connected as ${holder}: one token is one gateway session`,
      );
    }
    sessions.set(token, this.name);
    this.token = token;
    this.stopped = false;
    this.fatalReason = undefined;
    const error = await this.login(token);
    if (error) {
      if (this.fatalReason) throw new Error(`${this.name}: ${this.fatalReason}`);
      throw new Error(`${this.name}: login failed: ${error}; retrying`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    for (const live of this.buttons.values()) clearTimeout(live.timer);
    this.buttons.clear();
    if (this.token && sessions.get(this.token) === this.name) sessions.delete(this.token);
    const client = this.client;
    this.client = undefined;
    if (client) await client.destroy();
  }

  /** Applies a new configuration of this server (SIGHUP); returns what changed, for the log. */
  async reconfigure(next: DiscordServerConfig): Promise<string[]> {
    const before = this.cfg;
    const relogin = (c: DiscordServerConfig) => JSON.stringify([c.token, c.guildId, c.messageContent, c.api]);
    const changes: string[] = [];
    this.cfg = next;
    if (relogin(before) !== relogin(next) || this.fatalReason !== undefined) {
      changes.push('token, server, intents or API: logging in again');
      if (!this.stopped || this.fatalReason !== undefined) {
        await this.stop();
        await this.start().catch((err: unknown) =>
          this.logger.error({ transport: this.name, err: String(err) }, 'login after reload failed'),
        );
      }
      return changes;
    }
    if (
      before.destructivePermission !== next.destructivePermission ||
      before.slashCommands !== next.slashCommands
    ) {
      this.slash = this.buildSlash();
      changes.push('slash commands');
      if (next.slashCommands && this.client?.isReady())
        await this.syncCommands(this.client).catch((err) => this.fail(err, 'registering slash commands'));
    }
    if (JSON.stringify(before) !== JSON.stringify(next))
      changes.push('settings (channels, prefix, budgets, …)');
    return changes;
  }

  /** Re-generates the slash commands (declarations changed) and re-registers them if they differ. */
  async updateCommands(commands: readonly CommandSpec[]): Promise<boolean> {
    this.commands = commands;
    this.slash = this.buildSlash();
    return this.client?.isReady() ? this.syncCommands(this.client) : false;
  }

  /** One login attempt; on failure schedules the next (unless fatal) and returns the error text. */
  private async login(token: string): Promise<string | undefined> {
    const intents = [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.DirectMessages,
    ];
    if (this.cfg.messageContent) intents.push(GatewayIntentBits.MessageContent);
    const client = new Client({
      intents,
      partials: [Partials.Channel],
      // The default for every message discord.js builds; each call below says it again.
      allowedMentions: { parse: [] },
      ...(this.cfg.api ? { rest: { api: this.cfg.api } } : {}),
    });
    this.client = client;
    let onFatal: (reason: string) => void = () => {};
    const fatal = new Promise<string>((resolve) => {
      onFatal = resolve;
    });
    client.on(
      Events.MessageCreate,
      (message) => void this.onMessage(message).catch((err) => this.fail(err, 'message')),
    );
    client.on(
      Events.InteractionCreate,
      (i) => void this.onInteraction(i).catch((err) => this.fail(err, 'interaction')),
    );
    client.on(Events.ShardResume, () => {
      this.logger.info({ transport: this.name }, 'gateway resumed');
      this.emit('resumed');
    });
    client.on(Events.ShardDisconnect, (event) => {
      const why = FATAL_CLOSES[event.code];
      if (why === undefined) {
        this.logger.warn({ transport: this.name, code: event.code }, 'gateway disconnected');
        return;
      }
      onFatal(this.explainFatal(event.code, why));
    });
    client.on(Events.ChannelUpdate, (before, after) => this.onChannelUpdate(before, after));
    client.on(Events.Error, (err) => this.fail(err, 'client'));
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    try {
      const outcome = await Promise.race([
        client
          .login(token)
          .then(() => ready)
          .then(() => undefined),
        fatal,
      ]);
      if (typeof outcome === 'string') throw new FatalError(outcome);
    } catch (err) {
      await client.destroy().catch(() => {});
      if (this.client === client) this.client = undefined;
      const reason =
        err instanceof FatalError
          ? err.message
          : (err instanceof DiscordAPIError && err.status === 401) ||
              (err as { code?: unknown }).code === 'TokenInvalid'
            ? this.explainFatal(401, 'the bot token is not valid (401 Unauthorized)')
            : undefined;
      if (reason !== undefined) {
        this.goFatal(reason);
        return reason;
      }
      const retry = this.options.retry ?? RETRY;
      const delay = backoffDelay(this.attempt++, retry.minDelayMs, retry.maxDelayMs);
      this.logger.error({ transport: this.name, err: String(err), delayMs: delay }, 'login failed; retrying');
      if (!this.stopped) {
        this.retryTimer = setTimeout(() => {
          if (!this.stopped) void this.login(token);
        }, delay);
      }
      return String(err);
    }
    // After the login, a fatal close (a token reset while running) stops the connection too.
    void fatal.then((reason) => {
      if (this.client === client) this.goFatal(reason);
    });
    this.attempt = 0;
    this.logger.info({ transport: this.name, user: client.user?.tag }, 'logged in');
    if (this.cfg.slashCommands) {
      await this.syncCommands(client).catch((err) => this.fail(err, 'registering slash commands'));
    }
    this.emit('ready');
    return undefined;
  }

  private explainFatal(code: number, why: string): string {
    if (code === 4014) {
      return `Discord refused the Message Content intent (close 4014, ${why}): enable "Message Content Intent" for this bot in the Discord Developer Portal (Bot → Privileged Gateway Intents), or set messageContent: false for ${this.cfg.name}; not retrying`;
    }
    if (code === 4004 || code === 401) {
      return `Discord refused the bot token (${code === 401 ? '401' : 'close 4004'}, ${why}): ${this.cfg.name} is offline until the token is fixed; then reload (SIGHUP) or restart; not retrying`;
    }
    return `Discord closed the connection for good (close ${code}, ${why}); not retrying`;
  }

  private goFatal(reason: string): void {
    if (this.fatalReason !== undefined) return;
    this.fatalReason = reason;
    this.logger.error({ transport: this.name }, reason);
    this.emit('fatal', reason);
    void this.stop().then(() => {
      // Stopped, but the reason stays for `fatal` and reconfigure().
      this.fatalReason = reason;
    });
  }

  /** Compares the guild's registered commands with the generated ones; PUTs only on a change. */
  private async syncCommands(client: Client): Promise<boolean> {
    const appId = client.application?.id ?? client.user?.id;
    if (!appId) throw new Error('no application id after login');
    const route = Routes.applicationGuildCommands(appId, this.cfg.guildId);
    const registered = (await client.rest.get(route)) as unknown[];
    const changed = commandsDiffer(registered, this.slash.commands);
    if (changed) {
      try {
        await client.rest.put(route, { body: this.slash.commands });
      } catch (err) {
        if (err instanceof DiscordAPIError && typeof err.rawError === 'object' && 'errors' in err.rawError) {
          const reasons = registrationErrors(
            (err.rawError as { errors: unknown }).errors,
            this.slash.commands,
          );
          for (const reason of reasons)
            this.logger.error(
              { transport: this.name, reason },
              `Discord refused the slash commands: ${reason}`,
            );
          this.emit('registrationFailed', reasons);
          return false;
        }
        throw err;
      }
      this.logger.info(
        { transport: this.name, count: this.slash.commands.length },
        'slash commands registered',
      );
    }
    this.emit('synced', changed);
    return changed;
  }

  private fail(err: unknown, what: string): void {
    this.logger.error(
      { transport: this.name, err: err instanceof Error ? err.message : String(err) },
      `${what} failed`,
    );
  }

  private chat(event: ChatEvent): void {
    try {
      this.onEvent?.(event);
    } catch (err) {
      this.fail(err, 'chat event handler');
    }
    this.emit('chat', event);
  }

  // ---- identity and places --------------------------------------------------------------

  private async sender(
    user: { id: string; username: string; globalName?: string | null },
    member: unknown,
  ): Promise<Sender> {
    const sender: Sender = { nick: user.globalName ?? user.username, userId: user.id };
    let roleIds: string[] | undefined;
    if (member && typeof member === 'object' && 'roles' in member) {
      const roles = (member as { roles: unknown }).roles;
      if (Array.isArray(roles)) roleIds = roles.map(String);
      else roleIds = [...(member as GuildMember).roles.cache.keys()];
    } else {
      // DMs: the roles the person has in the configured guild.
      const guild = this.client?.guilds.cache.get(this.cfg.guildId);
      const fetched = await guild?.members.fetch({ user: user.id, force: true }).catch(() => undefined);
      if (fetched) roleIds = [...fetched.roles.cache.keys()];
      if (fetched?.displayName) sender.nick = fetched.displayName;
    }
    if (roleIds) {
      // @everyone's id is the guild id: every member has it.
      if (!roleIds.includes(this.cfg.guildId)) roleIds.push(this.cfg.guildId);
      sender.roleIds = roleIds;
    }
    if (member && typeof member === 'object' && 'displayName' in member) {
      sender.nick = String((member as GuildMember).displayName);
    }
    return sender;
  }

  private place(
    channel: { id: string; name?: string | null } | null,
    isPrivate: boolean,
    userId: string,
  ): Place {
    const guild = this.client?.guilds.cache.get(this.cfg.guildId);
    return {
      transport: 'discord',
      network: this.cfg.name,
      channel: isPrivate || !channel ? userId : channel.id,
      private: isPrivate,
      ...(!isPrivate && channel?.name ? { label: channel.name } : {}),
      ...(guild?.name ? { networkLabel: guild.name } : {}),
      // Without the Message Content intent, lines not addressed to the bot never reach it.
      hearsChatter: isPrivate ? true : this.cfg.messageContent,
    };
  }

  /** `channels:` lists ids or names; empty serves every channel. */
  private serves(channel: { id: string; name?: string | null } | null): boolean {
    if (this.cfg.channels.length === 0 || !channel) return true;
    const name = channel.name?.toLowerCase();
    return this.cfg.channels.some(
      (c) => c === channel.id || (name !== undefined && c.replace(/^#/, '').toLowerCase() === name),
    );
  }

  /** How a person types a command here: the prefix (with the intent), else a mention; nothing in DMs. */
  private replyPrefix(isPrivate: boolean): string {
    if (isPrivate) return '';
    if (this.cfg.messageContent) return this.cfg.prefix ?? '!';
    return `@${this.client?.user?.username ?? 'virtbot'} `;
  }

  private async run(msg: InboundMessage): Promise<Reply[]> {
    let replies: Reply[];
    try {
      replies = await this.handler(msg);
    } catch (err) {
      this.fail(err, 'handler');
      replies = msg.addressed ? [{ text: 'internal error (logged)', kind: 'error', private: true }] : [];
    }
    this.emit('handled', msg, replies);
    return replies;
  }

  private limits(direct: boolean) {
    return {
      channelLines: direct ? this.cfg.maxPrivateLines : this.cfg.maxChannelLines,
      privateLines: this.cfg.maxPrivateLines,
    };
  }

  // ---- text messages --------------------------------------------------------------------

  private async onMessage(message: Message): Promise<void> {
    const client = this.client;
    if (!client?.user || message.author.bot || message.system) return;
    const isPrivate = !message.inGuild();
    if (!isPrivate) {
      if (message.guildId !== this.cfg.guildId) return;
      if (!this.serves(message.channel as { id: string; name?: string })) return;
    }
    const content = message.content;
    if (content === '') return; // no Message Content intent, and not addressed to us
    const conversation: Conversation = { direct: isPrivate };
    const { addressed, text, via } = address(content, conversation, {
      // The prefix only with the intent (without it, only mentions carry content in a guild).
      prefix: isPrivate || this.cfg.messageContent ? (this.cfg.prefix ?? '!') : '',
      names: [client.user.username],
      mentionIds: [client.user.id],
    });
    if (!addressed && !isPrivate && !this.cfg.messageContent) return;
    if (addressed && text === '') return;
    const msg: InboundMessage = {
      place: this.place(
        isPrivate ? null : (message.channel as { id: string; name?: string }),
        isPrivate,
        message.author.id,
      ),
      sender: await this.sender(message.author, message.member),
      text,
      time: message.createdAt,
      addressed,
      replyPrefix: this.replyPrefix(isPrivate),
      id: message.id,
    };
    const channel = message.channel;
    const typing =
      addressed && channel.isSendable()
        ? setTimeout(
            () => void channel.sendTyping().catch(() => {}),
            Math.min(this.cfg.deferAfterMs, DEFER_CAP_MS),
          )
        : undefined;
    let replies = await this.run(msg);
    clearTimeout(typing);
    if (this.cfg.quietUnknown && !isPrivate && via === 'prefix')
      replies = replies.filter((r) => !r.unknownCommand);
    await this.answerMessage(message, msg.place, replies);
  }

  /** Answers a text command: the channel part in the channel, the private part by DM. */
  private async answerMessage(message: Message, place: Place, replies: Reply[]): Promise<void> {
    if (replies.length === 0) return;
    const direct = !message.inGuild();
    const out = renderDiscord(replies, {
      direct,
      limits: this.limits(direct),
      maxMessages: this.cfg.maxMessages,
      requesterId: message.author.id,
    });
    for (const m of out.here) await this.post(message.channel, place, m);
    if (out.privately.length === 0) return;
    try {
      for (const m of out.privately) await this.track(await message.author.send(this.payload(m)), m);
    } catch (err) {
      if (!(err instanceof DiscordAPIError) || err.code !== 50007) throw err;
      // DMs closed: say so in the channel, to the requester by mention, without the private text.
      const errors = replies.filter((r) => r.private && r.kind === 'error').map((r) => plainLine(r.text));
      const text =
        errors.length > 0 && errors.length === replies.filter((r) => r.private).length
          ? errors.join(' / ')
          : '';
      const note = `<@${message.author.id}> I could not send you a direct message (your DMs are closed to me)${
        text ? `: ${discordText(text)}` : '; use the slash command for a private answer'
      }`;
      await this.post(message.channel, place, {
        content: chunkText(note, 2000)[0] ?? note,
        plain: note,
        allowedMentions: { parse: [], users: [message.author.id] },
      });
    }
  }

  /** A rendered message as discord.js options: always with allowedMentions. */
  private payload(m: DiscordOut) {
    return {
      content: m.content,
      allowedMentions: m.allowedMentions,
      ...(m.embeds ? { embeds: m.embeds } : {}),
      ...(m.components ? { components: m.components } : {}),
      ...(m.files ? { files: m.files } : {}),
    };
  }

  /** Posts in a channel; 'sent' when Discord took it, 'refused' (and the log) when it did not. */
  private async post(channel: TextBasedChannel, place: Place, m: DiscordOut): Promise<void> {
    if (!channel.isSendable()) return;
    try {
      const sent = await channel.send(this.payload(m));
      if (!place.private) this.chat({ type: 'sent', place, text: m.plain, time: new Date() });
      this.track(sent, m);
    } catch (err) {
      if (err instanceof DiscordAPIError && (err.code === 50013 || err.code === 50001)) {
        this.logger.warn(
          { transport: this.name, channel: place.label ?? place.channel, code: err.code },
          `cannot post here: ${err.message}`,
        );
        this.chat({ type: 'refused', place, text: m.plain, reason: err.message, time: new Date() });
        return;
      }
      throw err;
    }
  }

  /** Buttons on a message: disabled when their code lapses. */
  private track(message: Message, m: DiscordOut): void {
    if (!m.codes || !m.components) return;
    this.liveButtons(m.codes, m.components, (rows) =>
      message.edit({ components: rows, allowedMentions: { parse: [] } }),
    );
  }

  private liveButtons(
    codes: string[],
    rows: ActionRowJson[],
    edit: LiveButtons['edit'],
    lifetimeMs = Number.POSITIVE_INFINITY,
  ): void {
    if (this.confirmTimeoutMs > lifetimeMs) return; // the token would be gone by then
    for (const code of codes) {
      const live: LiveButtons = { rows, edit };
      clearTimeout(this.buttons.get(code)?.timer);
      live.timer = setTimeout(() => void this.disableButtons(code, 'all', 'lapsed'), this.confirmTimeoutMs);
      live.timer.unref();
      this.buttons.set(code, live);
    }
  }

  private async disableButtons(code: string, which: 'all' | 'approval', why: string): Promise<void> {
    const live = this.buttons.get(code);
    if (!live) return;
    clearTimeout(live.timer);
    this.buttons.delete(code);
    const rows = disabledRows(live.rows, code, which);
    await live.edit(rows).then(
      () => {
        this.logger.debug({ transport: this.name, code, why }, 'buttons disabled');
        this.emit('buttonsDisabled', code);
      },
      (err: unknown) => this.fail(err, `disabling the buttons of ${code}`),
    );
  }

  // ---- interactions ---------------------------------------------------------------------

  private async onInteraction(i: Interaction): Promise<void> {
    if (i.guildId && i.guildId !== this.cfg.guildId) return;
    const channel = i.inGuild() ? (i.channel as { id: string; name?: string } | null) : null;
    if (i.inGuild() && !this.serves(channel ?? { id: i.channelId ?? '' })) {
      if (i.isAutocomplete()) await i.respond([]);
      else if (i.isRepliable())
        await i.reply({
          content: 'virtbot does not work in this channel (see its `channels` setting).',
          flags: MessageFlags.Ephemeral,
          allowedMentions: { parse: [] },
        });
      return;
    }
    if (i.isAutocomplete()) return this.onAutocomplete(i);
    if (i.isChatInputCommand()) return this.onSlash(i);
    if (i.isButton() && i.customId.startsWith(BUTTON_PREFIX)) return this.onButton(i);
  }

  private routeOf(i: ChatInputCommandInteraction | AutocompleteInteraction): SlashRoute | undefined {
    return this.slash.routes.get(
      routeKey(i.commandName, i.options.getSubcommandGroup(false), i.options.getSubcommand(false)),
    );
  }

  /** The leaf options of an interaction, by declared argument name. */
  private optionValues(
    route: SlashRoute,
    data: readonly CommandInteractionOption[],
    skip?: string,
  ): Record<string, string | number | boolean> {
    const values: Record<string, string | number | boolean> = {};
    const collect = (options: readonly CommandInteractionOption[]) => {
      for (const o of options) {
        if (o.options) collect(o.options);
        else if (o.value !== undefined && o.value !== null && o.name !== skip) {
          const arg = route.optionArgs.get(o.name);
          values[arg?.name ?? o.name] = o.value as string | number | boolean;
        }
      }
    };
    collect(data);
    return values;
  }

  /** How long until the first answer must be on its way: deferAfterMs, capped, counted from the interaction's time. */
  private deferDelay(i: Interaction, cap = DEFER_CAP_MS): number {
    const age = Math.max(0, Date.now() - i.createdTimestamp);
    return Math.max(0, Math.min(this.cfg.deferAfterMs, cap) - age);
  }

  private async onAutocomplete(i: AutocompleteInteraction): Promise<void> {
    const route = this.routeOf(i);
    const focused = i.options.getFocused(true);
    const arg = route?.optionArgs.get(focused.name);
    let choices: Completion[] = [];
    if (this.completions && route?.spec && arg) {
      const isPrivate = !i.inGuild();
      const request = {
        place: this.place(
          isPrivate ? null : (i.channel as { id: string; name?: string } | null),
          isPrivate,
          i.user.id,
        ),
        sender: await this.sender(i.user, i.member),
        path: route.spec.path,
        arg: arg.name,
        prefix: String(focused.value ?? ''),
        options: this.optionValues(route, i.options.data, focused.name),
      };
      const budget = Math.max(100, COMPLETION_CAP_MS - Math.max(0, Date.now() - i.createdTimestamp));
      choices = await withTimeout(this.completions(request), budget).catch((err: unknown) => {
        this.logger.warn({ transport: this.name, err: String(err), arg: arg.name }, 'completion failed');
        return [];
      });
    }
    await i.respond(trimChoices(choices));
  }

  private async onSlash(i: ChatInputCommandInteraction): Promise<void> {
    const route = this.routeOf(i);
    if (!route) {
      await i.reply({
        content: 'This command is no longer available.',
        flags: MessageFlags.Ephemeral,
        allowedMentions: { parse: [] },
      });
      return;
    }
    const values = this.optionValues(route, i.options.data);
    const byOption: OptionValues = {};
    for (const [option, arg] of route.optionArgs)
      if (values[arg.name] !== undefined) byOption[option] = values[arg.name];
    const text = invocationToText(route, byOption);
    const isPrivate = !i.inGuild();
    const msg: InboundMessage = {
      place: this.place(
        isPrivate ? null : (i.channel as { id: string; name?: string } | null),
        isPrivate,
        i.user.id,
      ),
      sender: await this.sender(i.user, i.member),
      text,
      time: i.createdAt,
      // Meeting lines are said in the channel, not commands to the bot.
      addressed: route.meeting === undefined,
      replyPrefix: this.replyPrefix(isPrivate),
      id: i.id,
      ...(route.spec ? { command: { path: [...route.spec.path], options: values } } : {}),
    };
    const echo = route.meeting ? `**${discordText(i.user.displayName)}**: ${discordText(text)}` : undefined;
    await this.respond(
      i,
      msg,
      echo
        ? { content: echo, plain: `${i.user.displayName}: ${text}`, allowedMentions: { parse: [] } }
        : undefined,
    );
  }

  private async onButton(i: ButtonInteraction): Promise<void> {
    const [, action, code] = i.customId.split(':');
    if (!isButtonAction(action) || !code) return;
    const isPrivate = !i.inGuild();
    const msg: InboundMessage = {
      place: this.place(
        isPrivate ? null : (i.channel as { id: string; name?: string } | null),
        isPrivate,
        i.user.id,
      ),
      sender: await this.sender(i.user, i.member),
      text: `${action} ${code}`,
      time: i.createdAt,
      addressed: true,
      replyPrefix: this.replyPrefix(isPrivate),
      id: i.id,
      command: { path: [action], options: { code } },
    };
    const replies = await this.runInTime(i, msg, () => i.deferUpdate());
    const done = replies.length > 0 && replies.every((r) => r.kind !== 'error');
    const queue = this.interactionQueue(replies, isPrivate);
    if (done) {
      // Used: the buttons of this code on the clicked message are disabled (an approval keeps Confirm/Cancel).
      const which = action === 'approve' ? 'approval' : 'all';
      const rows = disabledRows(rowsOf(i.message.components), code, which);
      if (which === 'all') {
        clearTimeout(this.buttons.get(code)?.timer);
        this.buttons.delete(code);
      } else {
        const live = this.buttons.get(code);
        if (live) live.rows = rows;
      }
      const update = { components: rows, allowedMentions: { parse: [] as [] } };
      if (i.deferred) await i.editReply(update);
      else await i.update(update);
      this.emit('buttonsDisabled', code);
      for (const { m, ephemeral } of queue) await this.followUp(i, m, ephemeral, msg.place);
      return;
    }
    // Refused (someone else's code, lapsed, denied): only the clicker hears why; the buttons stay.
    const [first, ...rest] = queue.map((q) => ({ ...q, ephemeral: true }));
    if (!first) return;
    if (i.deferred) await this.followUp(i, first.m, true, msg.place);
    else await i.reply(this.interactionPayload(first.m, true));
    for (const { m } of rest) await this.followUp(i, m, true, msg.place);
  }

  /** Runs the handler; when it takes longer than the interaction allows, `defer` answers in time. */
  private async runInTime(
    i: Interaction,
    msg: InboundMessage,
    defer: () => Promise<unknown>,
  ): Promise<Reply[]> {
    let deferring: Promise<unknown> | undefined;
    const timer = setTimeout(() => {
      deferring = defer().catch((err) => this.fail(err, 'deferring the answer'));
    }, this.deferDelay(i));
    const replies = await this.run(msg);
    clearTimeout(timer);
    if (deferring) await deferring;
    return replies;
  }

  /** One unit as interaction messages: the channel part public; the private part and errors ephemeral. */
  private interactionQueue(
    replies: Reply[],
    isPrivate: boolean,
  ): Array<{ m: DiscordOut; ephemeral: boolean }> {
    const shown = replies.map((r) => (r.kind === 'error' ? { ...r, private: true } : r));
    const out = renderDiscord(shown, {
      direct: isPrivate,
      limits: this.limits(isPrivate),
      maxMessages: this.cfg.maxMessages,
      privately: 'below, only to you',
    });
    return [
      ...out.here.map((m) => ({ m, ephemeral: false })),
      ...out.privately.map((m) => ({ m, ephemeral: true })),
    ];
  }

  private interactionPayload(m: DiscordOut, ephemeral: boolean): InteractionReplyOptions {
    return { ...this.payload(m), ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) };
  }

  private async followUp(
    i: ChatInputCommandInteraction | ButtonInteraction,
    m: DiscordOut,
    ephemeral: boolean,
    place: Place,
  ): Promise<void> {
    const sent = await i.followUp(this.interactionPayload(m, ephemeral));
    if (!ephemeral && !place.private) this.chat({ type: 'sent', place, text: m.plain, time: new Date() });
    if (m.codes && m.components)
      this.liveButtons(
        m.codes,
        m.components,
        (rows) => i.webhook.editMessage(sent.id, { components: rows, allowedMentions: { parse: [] } }),
        TOKEN_LIFETIME_MS,
      );
  }

  /**
   * Runs the handler for a slash command and answers it: within Discord's 3 s — at once when
   * the command is quick, else deferred (ephemerally: the answer may be private) and then
   * given. The channel part publicly, the private part and errors ephemerally. `echo` is shown
   * publicly first (meeting lines said through /meeting).
   */
  private async respond(
    i: ChatInputCommandInteraction,
    msg: InboundMessage,
    echo?: DiscordOut,
  ): Promise<void> {
    const replies = await this.runInTime(i, msg, () => i.deferReply({ flags: MessageFlags.Ephemeral }));
    const isPrivate = msg.place.private;
    const queue = [
      ...(echo ? [{ m: echo, ephemeral: false }] : []),
      ...this.interactionQueue(replies, isPrivate),
    ];
    if (queue.length === 0)
      queue.push({
        m: { content: 'Done (no output).', plain: 'Done (no output).', allowedMentions: { parse: [] } },
        ephemeral: true,
      });
    const [first, ...rest] = queue as [(typeof queue)[number], ...typeof queue];
    // The interaction's own reply carries the first answer's buttons: they lapse with its token.
    const keepButtonsLive = () => {
      if (first.m.codes && first.m.components)
        this.liveButtons(
          first.m.codes,
          first.m.components,
          (rows) => i.editReply({ components: rows, allowedMentions: { parse: [] } }),
          TOKEN_LIFETIME_MS,
        );
    };
    if (!i.deferred) {
      await i.reply(this.interactionPayload(first.m, first.ephemeral));
      if (!first.ephemeral && !isPrivate)
        this.chat({ type: 'sent', place: msg.place, text: first.m.plain, time: new Date() });
      keepButtonsLive();
    } else if (first.ephemeral) {
      // Deferred ephemerally, and the first answer is private: it takes the place of "thinking…".
      await i.editReply({
        content: first.m.content,
        allowedMentions: first.m.allowedMentions,
        embeds: first.m.embeds ?? [],
        components: first.m.components ?? [],
        files: first.m.files ?? [],
      });
      keepButtonsLive();
    } else {
      // Deferred ephemerally, but the answer is public: drop the private "thinking…" and answer in the open.
      await i.deleteReply().catch((err) => this.fail(err, 'deleteReply'));
      await this.followUp(i, first.m, false, msg.place);
    }
    for (const { m, ephemeral } of rest) await this.followUp(i, m, ephemeral, msg.place);
    const topic = replies.find((r) => r.setTopic !== undefined)?.setTopic;
    if (topic !== undefined && !isPrivate) await this.setTopic(msg.place.channel, topic);
  }

  // ---- outside a reply ---------------------------------------------------------------------

  /** Says replies in a channel (or a DM, for a private place) of this server. */
  async send(place: Place, replies: Reply[]): Promise<void> {
    if (place.transport !== 'discord' || place.network !== this.cfg.name)
      throw new Error(`${this.name} cannot send to ${place.transport}:${place.network}`);
    const client = this.client;
    if (!client?.isReady()) throw new Error(`${this.name} is not connected`);
    const out = renderDiscord(replies, {
      direct: true,
      limits: this.limits(place.private),
      maxMessages: this.cfg.maxMessages,
    });
    if (place.private) {
      const user = await client.users.fetch(place.channel);
      for (const m of out.here) this.track(await user.send(this.payload(m)), m);
      return;
    }
    const channel = await client.channels.fetch(place.channel);
    if (!channel?.isTextBased()) throw new Error(`${this.name}: no text channel ${place.channel}`);
    const where: Place = { ...place, ...('name' in channel && channel.name ? { label: channel.name } : {}) };
    for (const m of out.here) await this.post(channel as TextBasedChannel, where, m);
    const topic = replies.find((r) => r.setTopic !== undefined)?.setTopic;
    if (topic !== undefined) await this.setTopic(place.channel, topic);
  }

  /** Sets a channel's topic when the bot may (Manage Channels); otherwise logs why not. */
  private async setTopic(channelId: string, topic: string): Promise<void> {
    const channel = this.client?.channels.cache.get(channelId) as
      | NonThreadGuildBasedChannel
      | DMChannel
      | undefined;
    const me = this.client?.user;
    if (!channel || !me || !('setTopic' in channel) || !('permissionsFor' in channel)) {
      this.logger.info(
        { transport: this.name, channel: channelId },
        'not setting the topic: not a text channel of the server',
      );
      return;
    }
    if (!channel.permissionsFor(me)?.has(PermissionFlagsBits.ManageChannels)) {
      this.logger.info(
        { transport: this.name, channel: channel.name },
        'not setting the topic: the bot lacks the Manage Channels permission there',
      );
      return;
    }
    await (channel as { setTopic(t: string): Promise<unknown> })
      .setTopic(plainLine(topic).slice(0, 1024))
      .catch((err: unknown) => this.fail(err, 'setting the topic'));
  }

  private onChannelUpdate(before: unknown, after: unknown): void {
    const a = after as { id: string; name?: string; topic?: string | null; guildId?: string };
    const b = before as { topic?: string | null };
    if (a.guildId !== this.cfg.guildId || (a.topic ?? '') === (b.topic ?? '')) return;
    this.chat({ type: 'topic', place: this.place(a, false, ''), topic: a.topic ?? '', time: new Date() });
  }
}

class FatalError extends Error {}

function isButtonAction(action: string | undefined): action is ButtonAction {
  return action === 'confirm' || action === 'cancel' || action === 'approve' || action === 'deny';
}

/** The message's components as plain JSON rows. */
function rowsOf(components: readonly unknown[]): ActionRowJson[] {
  return components.map((row) => {
    const json = (
      typeof (row as { toJSON?: () => unknown }).toJSON === 'function'
        ? (row as { toJSON: () => unknown }).toJSON()
        : row
    ) as ActionRowJson;
    return { type: 1, components: [...(json.components ?? [])] };
  });
}

/** The rows with the buttons of `code` disabled: all of them, or only Approve/Deny after an approval. */
export function disabledRows(
  rows: readonly ActionRowJson[],
  code: string,
  which: 'all' | 'approval',
): ActionRowJson[] {
  return rows.map((row) => ({
    type: 1,
    components: row.components.map((button) => {
      const [, action, c] = String(button.custom_id ?? '').split(':');
      const hit = c === code && (which === 'all' || action === 'approve' || action === 'deny');
      return hit ? { ...button, disabled: true } : button;
    }),
  }));
}

/** Completions as Discord accepts them: 25 at most, names and values of 1–100 characters, no duplicates. */
export function trimChoices(choices: readonly Completion[]): Completion[] {
  const seen = new Set<string>();
  const out: Completion[] = [];
  for (const choice of choices) {
    const value = String(choice.value ?? '');
    // A value longer than Discord allows cannot be shortened without changing what it means: left out.
    if (value === '' || value.length > CHOICE_LENGTH || seen.has(value)) continue;
    let name = plainLine(String(choice.name ?? value)).trim() || value;
    if (name.length > CHOICE_LENGTH) name = `${name.slice(0, CHOICE_LENGTH - 1)}…`;
    seen.add(value);
    out.push({ name, value });
    if (out.length >= AUTOCOMPLETE_LIMIT) break;
  }
  return out;
}

/** The older Completer (VM and host names) as a CompletionHandler, for options of those types. */
function adaptCompleter(complete: Completer | undefined): CompletionHandler | undefined {
  if (!complete) return undefined;
  return async (request) => {
    const type =
      request.arg === 'host' ? 'host' : request.arg === 'vm' || request.arg === 'name' ? 'vm' : undefined;
    if (!type) return [];
    return (await complete(type, request.prefix)).map((n) => ({ name: n, value: n }));
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Discord's registration errors are keyed by index (`0.options.3.description`); these name the
 * command and option instead: `/vm disk add: option 'size': description: Must be …`.
 */
export function registrationErrors(errors: unknown, commands: readonly SlashCommand[]): string[] {
  const out: string[] = [];
  const walk = (
    node: unknown,
    path: string[],
    where: { names: string[]; field: string[] },
    current: unknown,
  ) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === '_errors' && Array.isArray(value)) {
        const label = where.names.length > 0 ? `/${where.names.join(' ')}` : 'the command list';
        const field = where.field.length > 0 ? `${where.field.join(': ')}: ` : '';
        for (const e of value as Array<{ code?: string; message?: string }>)
          out.push(`${label}: ${field}${e.message ?? e.code ?? 'refused'}`);
        continue;
      }
      const index = Number(key);
      const list = Array.isArray(current)
        ? current
        : (current as { options?: unknown[] } | undefined)?.options;
      if (Number.isInteger(index) && Array.isArray(list) && list[index] && typeof list[index] === 'object') {
        const item = list[index] as { name?: string; type?: number };
        const isOption = item.type !== undefined && item.type > 2 && where.names.length > 0;
        const names = isOption ? where.names : [...where.names, String(item.name ?? key)];
        const field = isOption ? [`option '${item.name ?? key}'`] : [];
        walk(value, [...path, key], { names, field }, item);
        continue;
      }
      if (key === 'options') {
        walk(value, [...path, key], where, (current as { options?: unknown[] } | undefined)?.options);
        continue;
      }
      walk(value, [...path, key], { names: where.names, field: [...where.field, key] }, undefined);
    }
  };
  walk(errors, [], { names: [], field: [] }, commands);
  return out;
}
