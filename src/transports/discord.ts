/**
 * The Discord transport (discord.js v14): one instance per configured Discord server (guild).
 *
 * Input: slash commands (generated from the command declarations, registered per guild and
 * re-registered only when they change), text commands on mention and in DMs (and with the prefix
 * when the Message Content intent is configured), meeting lines in channels when message content
 * is available, and Confirm/Cancel buttons. Identity: the user id and their role ids in the guild.
 * Output: replies under 2000 characters (split, or attached as a file), ephemeral replies for
 * private ones (errors, denials), deferReply + editReply for slow commands.
 */
import { EventEmitter } from 'node:events';
import {
  ActionRowBuilder,
  type AutocompleteInteraction,
  ButtonBuilder,
  type ButtonInteraction,
  ButtonStyle,
  type ChatInputCommandInteraction,
  Client,
  type CommandInteractionOption,
  Events,
  GatewayIntentBits,
  type GuildMember,
  type Interaction,
  type InteractionReplyOptions,
  type Message,
  MessageFlags,
  Partials,
  Routes,
} from 'discord.js';
import type { CommandSpec } from '../command/spec.js';
import { readSecret } from '../config/read-secret.js';
import type { DiscordServerConfig } from '../config/sections/transports.js';
import type { InboundMessage, Place, Reply, Sender } from '../core/types.js';
import {
  buildSlashCommands,
  commandsDiffer,
  invocationToText,
  type OptionValues,
  routeKey,
  type SlashSet,
} from './slash.js';
import { chunkText } from './text.js';
import {
  backoffDelay,
  type Completer,
  type MessageHandler,
  silentLogger,
  type Transport,
  type TransportLogger,
} from './transport.js';

export const DISCORD_MESSAGE_LIMIT = 2000;
const BUTTON_PREFIX = 'virtbot:';
const RETRY = { minDelayMs: 5000, maxDelayMs: 300_000 };

export interface DiscordTransportOptions {
  logger?: TransportLogger;
  /** Autocomplete for VM and host names in slash commands. */
  complete?: Completer;
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
}

/** A message to send: content under the limit, optional attachment and Confirm/Cancel buttons. */
interface OutMessage {
  content: string;
  files?: Array<{ attachment: Buffer; name: string }>;
  components?: ActionRowBuilder<ButtonBuilder>[];
}

export class DiscordTransport extends EventEmitter<DiscordTransportEvents> implements Transport {
  readonly name: string;
  private client: Client | undefined;
  private slash: SlashSet;
  private stopped = true;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly logger: TransportLogger;
  private readonly complete: Completer | undefined;
  private readonly prefix: string;

  constructor(
    private readonly cfg: DiscordServerConfig,
    private readonly handler: MessageHandler,
    commands: readonly CommandSpec[],
    private readonly options: DiscordTransportOptions = {},
  ) {
    super();
    this.name = `discord:${cfg.name}`;
    this.logger = options.logger ?? silentLogger;
    this.complete = options.complete;
    this.prefix = cfg.prefix ?? '!';
    this.slash = buildSlashCommands(commands, { autocomplete: this.complete !== undefined });
    for (const reason of this.slash.skipped)
      this.logger.warn({ transport: this.name, reason }, 'slash command skipped');
  }

  /** The generated slash commands (what is registered in the guild). */
  get slashCommands(): SlashSet {
    return this.slash;
  }

  get connected(): boolean {
    return this.client?.isReady() ?? false;
  }

  /**
   * Logs in and registers the slash commands. Resolves when ready. If the first login fails it
   * rejects (so the caller can report it) and keeps retrying with backoff until stop().
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    const token = await readSecret(this.cfg.token, `${this.name} token`);
    this.stopped = false;
    const error = await this.login(token);
    if (error) throw new Error(`${this.name}: login failed: ${error}; retrying`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.destroy();
  }

  /** Re-generates the slash commands (declarations changed) and re-registers them if they differ. */
  async updateCommands(commands: readonly CommandSpec[]): Promise<boolean> {
    this.slash = buildSlashCommands(commands, { autocomplete: this.complete !== undefined });
    return this.client?.isReady() ? this.syncCommands(this.client) : false;
  }

  /** One login attempt; on failure schedules the next and returns the error text. */
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
      ...(this.cfg.api ? { rest: { api: this.cfg.api } } : {}),
    });
    this.client = client;
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
    client.on(Events.ShardDisconnect, (event) =>
      this.logger.warn({ transport: this.name, code: event.code }, 'gateway disconnected'),
    );
    client.on(Events.Error, (err) => this.fail(err, 'client'));
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    try {
      await client.login(token);
      await ready;
    } catch (err) {
      await client.destroy().catch(() => {});
      if (this.client === client) this.client = undefined;
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
    this.attempt = 0;
    this.logger.info({ transport: this.name, user: client.user?.tag }, 'logged in');
    if (this.cfg.slashCommands) {
      await this.syncCommands(client).catch((err) => this.fail(err, 'registering slash commands'));
    }
    this.emit('ready');
    return undefined;
  }

  /** Compares the guild's registered commands with the generated ones; PUTs only on a change. */
  private async syncCommands(client: Client): Promise<boolean> {
    const appId = client.application?.id ?? client.user?.id;
    if (!appId) throw new Error('no application id after login');
    const route = Routes.applicationGuildCommands(appId, this.cfg.guildId);
    const registered = (await client.rest.get(route)) as unknown[];
    const changed = commandsDiffer(registered, this.slash.commands);
    if (changed) {
      await client.rest.put(route, { body: this.slash.commands });
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

  // ---- identity -----------------------------------------------------------------------

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

  private place(channelId: string, isPrivate: boolean, userId: string): Place {
    return {
      transport: 'discord',
      network: this.cfg.name,
      channel: isPrivate ? userId : channelId,
      private: isPrivate,
    };
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

  // ---- text messages --------------------------------------------------------------------

  private async onMessage(message: Message): Promise<void> {
    const client = this.client;
    if (!client?.user || message.author.bot || message.system) return;
    const isPrivate = !message.inGuild();
    if (!isPrivate) {
      if (message.guildId !== this.cfg.guildId) return;
      if (this.cfg.channels.length > 0 && !this.cfg.channels.includes(message.channelId)) return;
    }
    const content = message.content;
    if (content === '') return; // no Message Content intent, and not addressed to us
    const mention = new RegExp(`^<@!?${client.user.id}>[\\s,:]*`);
    let addressed = false;
    let text = content;
    const m = mention.exec(content);
    if (m) {
      addressed = true;
      text = content.slice(m[0].length);
    } else if (
      content.startsWith(this.prefix) &&
      content.length > this.prefix.length &&
      (isPrivate || this.cfg.messageContent)
    ) {
      addressed = true;
      text = content.slice(this.prefix.length);
    } else if (isPrivate) {
      addressed = true;
    } else if (!this.cfg.messageContent) {
      return;
    }
    text = addressed ? text.trim() : text;
    if (addressed && text === '') return;
    const msg: InboundMessage = {
      place: this.place(message.channelId, isPrivate, message.author.id),
      sender: await this.sender(message.author, message.member),
      text,
      time: message.createdAt,
      addressed,
    };
    const channel = message.channel;
    const typing =
      addressed && channel.isSendable()
        ? setTimeout(() => void channel.sendTyping().catch(() => {}), this.cfg.deferAfterMs)
        : undefined;
    const replies = await this.run(msg);
    clearTimeout(typing);
    await this.sendToChannel(message, replies);
  }

  private async sendToChannel(message: Message, replies: Reply[]): Promise<void> {
    const inGuild = message.inGuild();
    const publicReplies = replies.filter((r) => !(r.private && inGuild));
    const privateReplies = replies.filter((r) => r.private && inGuild);
    for (const out of this.render(publicReplies)) {
      if (message.channel.isSendable()) await message.channel.send(out);
    }
    for (const out of this.render(privateReplies)) {
      await message.author.send(out).catch((err) => this.fail(err, 'DM'));
    }
  }

  // ---- rendering ------------------------------------------------------------------------

  /** Messages for a list of replies: joined, split under 2000 characters or attached as a file, with buttons. */
  render(replies: Reply[]): OutMessage[] {
    if (replies.length === 0) return [];
    const text = replies.map((r) => r.text).join('\n');
    let messages: OutMessage[];
    const chunks = chunkText(text, DISCORD_MESSAGE_LIMIT);
    if (chunks.length <= this.cfg.maxMessages) {
      messages = chunks.map((content) => ({ content }));
    } else {
      const lines = text.split('\n');
      const summary = chunkText(
        `${lines[0] ?? ''}\n… ${lines.length - 1} more lines in the attached file`,
        DISCORD_MESSAGE_LIMIT,
      )[0]!;
      messages = [
        { content: summary, files: [{ attachment: Buffer.from(text, 'utf8'), name: 'output.txt' }] },
      ];
    }
    if (messages.length === 0) messages = [{ content: '…' }];
    const codes = replies
      .map((r) => r.confirmCode)
      .filter((c): c is string => typeof c === 'string' && c !== '');
    if (codes.length > 0) {
      const rows = codes
        .slice(0, 5)
        .map((code) =>
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder()
              .setCustomId(`${BUTTON_PREFIX}confirm:${code}`)
              .setLabel('Confirm')
              .setStyle(ButtonStyle.Danger),
            new ButtonBuilder()
              .setCustomId(`${BUTTON_PREFIX}cancel:${code}`)
              .setLabel('Cancel')
              .setStyle(ButtonStyle.Secondary),
          ),
        );
      messages[messages.length - 1]!.components = rows;
    }
    return messages;
  }

  // ---- interactions ---------------------------------------------------------------------

  private async onInteraction(i: Interaction): Promise<void> {
    if (i.guildId && i.guildId !== this.cfg.guildId) return;
    if (i.isAutocomplete()) return this.onAutocomplete(i);
    if (i.isChatInputCommand()) return this.onSlash(i);
    if (i.isButton() && i.customId.startsWith(BUTTON_PREFIX)) return this.onButton(i);
  }

  private routeOf(i: ChatInputCommandInteraction | AutocompleteInteraction) {
    return this.slash.routes.get(
      routeKey(i.commandName, i.options.getSubcommandGroup(false), i.options.getSubcommand(false)),
    );
  }

  private async onAutocomplete(i: AutocompleteInteraction): Promise<void> {
    const route = this.routeOf(i);
    const focused = i.options.getFocused(true);
    const arg = route?.optionArgs.get(focused.name);
    let names: string[] = [];
    if (this.complete && arg && (arg.type === 'vm' || arg.type === 'host')) {
      names = await this.complete(arg.type, String(focused.value)).catch(() => []);
    }
    await i.respond(names.slice(0, 25).map((n) => ({ name: n, value: n })));
  }

  private async onSlash(i: ChatInputCommandInteraction): Promise<void> {
    const route = this.routeOf(i);
    if (!route) {
      await i.reply({ content: 'This command is no longer available.', flags: MessageFlags.Ephemeral });
      return;
    }
    const values: OptionValues = {};
    const collect = (options: readonly CommandInteractionOption[]) => {
      for (const o of options) {
        if (o.options) collect(o.options);
        else if (o.value !== undefined && o.value !== null) values[o.name] = o.value;
      }
    };
    collect(i.options.data);
    const text = invocationToText(route, values);
    const isPrivate = !i.inGuild();
    const msg: InboundMessage = {
      place: this.place(i.channelId, isPrivate, i.user.id),
      sender: await this.sender(i.user, i.member),
      text,
      time: i.createdAt,
      // Meeting lines are said in the channel, not commands to the bot.
      addressed: route.meeting === undefined,
    };
    await this.respond(i, msg, route.meeting ? `**${i.user.displayName}**: ${text}` : undefined);
  }

  private async onButton(i: ButtonInteraction): Promise<void> {
    const [, action, code] = i.customId.split(':');
    if ((action !== 'confirm' && action !== 'cancel') || !code) return;
    const isPrivate = !i.inGuild();
    const msg: InboundMessage = {
      place: this.place(i.channelId, isPrivate, i.user.id),
      sender: await this.sender(i.user, i.member),
      text: `${action} ${code}`,
      time: i.createdAt,
      addressed: true,
    };
    const replies = await this.respond(i, msg);
    // Done with: take the buttons off the confirmation message (unless it was refused).
    if (replies.length > 0 && replies.every((r) => r.kind !== 'error')) {
      await i.webhook
        .editMessage(i.message.id, { components: [] })
        .catch((err) => this.fail(err, 'removing buttons'));
    }
  }

  /**
   * Runs the handler for an interaction and answers it: deferReply when it takes longer than
   * `deferAfterMs`, then editReply; public replies first, private ones as ephemeral follow-ups.
   * `echo` is shown publicly first (meeting lines said through /meeting).
   */
  private async respond(
    i: ChatInputCommandInteraction | ButtonInteraction,
    msg: InboundMessage,
    echo?: string,
  ): Promise<Reply[]> {
    let deferring: Promise<unknown> | undefined;
    const timer = setTimeout(() => {
      deferring = i.deferReply().catch((err) => this.fail(err, 'deferReply'));
    }, this.cfg.deferAfterMs);
    const replies = await this.run(msg);
    clearTimeout(timer);
    if (deferring) await deferring;
    const deferred = i.deferred;

    const inGuild = i.inGuild();
    const publicReplies = replies.filter((r) => !(r.private && inGuild));
    const privateReplies = replies.filter((r) => r.private && inGuild);
    const publicMessages = this.render(publicReplies);
    if (echo) publicMessages.unshift({ content: chunkText(echo, DISCORD_MESSAGE_LIMIT)[0] ?? '…' });
    const privateMessages = this.render(privateReplies);
    if (publicMessages.length === 0 && privateMessages.length === 0) {
      privateMessages.push({ content: 'Done (no output).' });
    }
    const queue: Array<{ out: OutMessage; ephemeral: boolean }> = [
      ...publicMessages.map((out) => ({ out, ephemeral: false })),
      ...privateMessages.map((out) => ({ out, ephemeral: true })),
    ];
    const first = queue.shift()!;
    const options = (out: OutMessage, ephemeral: boolean): InteractionReplyOptions => ({
      content: out.content,
      ...(out.files ? { files: out.files } : {}),
      ...(out.components ? { components: out.components } : {}),
      ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    });
    if (!deferred) {
      await i.reply(options(first.out, first.ephemeral));
    } else if (!first.ephemeral) {
      await i.editReply({
        content: first.out.content,
        files: first.out.files ?? [],
        components: first.out.components ?? [],
      });
    } else {
      // Deferred publicly, but the answer is private: drop the "thinking…" and answer ephemerally.
      await i.deleteReply().catch((err) => this.fail(err, 'deleteReply'));
      await i.followUp(options(first.out, true));
    }
    for (const { out, ephemeral } of queue) await i.followUp(options(out, ephemeral));
    return replies;
  }
}
