/**
 * A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.js client:
 * `new Client({ rest: { api: fake.api } })`. Speaks plain-JSON gateway v10 (no zlib-sync):
 * HELLO, IDENTIFY → READY + GUILD_CREATE, HEARTBEAT → ACK, RESUME → RESUMED, increasing `s`.
 *
 * It enforces what Discord enforces, so that tests catch what Discord would refuse:
 * - tokens: REST wants `Authorization: Bot <token>` (401 otherwise); IDENTIFY with another
 *   token is closed with 4004; the Message Content intent, unless allowed, with 4014;
 * - every message-creating or -editing request carries `allowed_mentions` (the fake refuses
 *   the request otherwise: virtbot must never leave mentions to Discord's defaults);
 * - messages: content ≤ 2000 characters, not empty, embed and component limits;
 * - interactions: the initial response within 3 seconds of the interaction, once; follow-ups
 *   and edits only after it, and an interaction token edits only its own messages (its original
 *   response — for a button, the message the button is on — and its own follow-ups); the first
 *   follow-up after a deferred response replaces the "thinking…" message;
 * - autocomplete: at most 25 choices, names 1–100 and values ≤ 100 characters, within 3 s;
 * - registration: names, descriptions, 25 options / subcommands / choices, required options
 *   first, 100 commands, and the combined 8000 characters of a command.
 * Every REST call is recorded and emitted as 'request'; see shared/notes/test-servers.md.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { waitForEvent } from './util.js';

export interface FakeUser {
  id: string;
  username: string;
  bot?: boolean;
}

export interface FakeMember {
  user: FakeUser;
  roles: string[];
}

export interface FakeChannel {
  id: string;
  name: string;
  topic?: string;
}

export interface FakeDiscordOptions {
  guildId?: string;
  guildName?: string;
  appId?: string;
  bot?: FakeUser;
  /** The only valid bot token (default 'fake-token'). */
  token?: string;
  /** Whether the Message Content intent is enabled for the application (default true). */
  messageContentAllowed?: boolean;
  channels?: FakeChannel[];
  /** Roles with their permission bit strings (default '0'). */
  roles?: Array<{ id: string; name: string; permissions?: string }>;
  members?: FakeMember[];
  /** Role ids the bot's own member has. */
  botRoles?: string[];
  /** Users whose DMs are closed to the bot (50007). */
  dmsClosed?: string[];
  /** Simulated network latency before an interaction callback reaches "Discord". */
  callbackLatencyMs?: number;
  /** The combined character limit of one command (Discord's is 8000). */
  commandSizeLimit?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** JSON body, or for multipart the parsed payload_json plus `files`. */
  body: unknown;
  files: Array<{ name: string; content: string }>;
  /** The HTTP status the fake answered with. */
  status?: number;
  /** The error the fake answered with, when it refused. */
  error?: { code: number; message: string };
}

export interface InteractionResponse {
  token: string;
  kind: 'callback' | 'edit' | 'followup' | 'delete';
  body: Record<string, unknown>;
  files: Array<{ name: string; content: string }>;
  /** Callback type for 'callback' (4 reply, 5 defer, 6 deferred update, 7 update, 8 autocomplete). */
  type?: number;
  /** The message the response created or edited. */
  messageId?: string;
}

const DISCORD_EPOCH = 1_420_070_400_000n;
let increment = 0n;
/** A snowflake for now: Discord's own layout (milliseconds since 2015 << 22), so its time is meaningful. */
export function nextId(): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | increment).toString();
}

function parseMultipart(
  body: Buffer,
  contentType: string,
): { json: unknown; files: Array<{ name: string; content: string }> } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const files: Array<{ name: string; content: string }> = [];
  let json: unknown = {};
  if (!boundary) return { json, files };
  const text = body.toString('utf8');
  for (const part of text.split(`--${boundary[1] ?? boundary[2]}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const headers = part.slice(0, split);
    const content = part.slice(split + 4).replace(/\r\n$/, '');
    const name = /name="([^"]+)"/.exec(headers)?.[1];
    const filename = /filename="([^"]+)"/.exec(headers)?.[1];
    if (name === 'payload_json') json = JSON.parse(content);
    else if (filename) files.push({ name: filename, content });
  }
  return { json, files };
}

/** Discord's error for a form body, keyed by field path (indices for arrays). */
class FormError extends Error {
  constructor(
    readonly errors: Record<string, unknown>,
    message = 'Invalid Form Body',
  ) {
    super(message);
  }
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function fieldError(path: Array<string | number>, code: string, message: string): FormError {
  let errors: Record<string, unknown> = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return new FormError(errors);
}

interface InteractionState {
  id: string;
  token: string;
  type: number;
  createdAt: number;
  acknowledged: boolean;
  /** The original response's message id (for components: the message the component is on). */
  originalId?: string;
  /** The original response is a deferred "thinking…" not yet replaced. */
  pendingDefer?: { flags: number };
  /** Messages this token created (original and follow-ups). */
  own: Set<string>;
  channelId: string;
}

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

export class FakeDiscord extends EventEmitter {
  readonly guildId: string;
  readonly appId: string;
  readonly bot: FakeUser;
  readonly channels: FakeChannel[];
  readonly roles: Array<{ id: string; name: string; permissions?: string }>;
  readonly members: FakeMember[];
  readonly requests: RecordedRequest[] = [];
  readonly responses: InteractionResponse[] = [];
  /** Guild commands as registered (PUT), by guild id. */
  readonly guildCommands = new Map<string, Array<Record<string, unknown>>>();
  /** Every message the fake holds, by id. */
  readonly messages = new Map<string, Record<string, unknown>>();
  commandPuts = 0;
  identifies = 0;
  resumes = 0;
  token: string;
  messageContentAllowed: boolean;
  dmsClosed: Set<string>;
  callbackLatencyMs: number;
  commandSizeLimit: number;
  private readonly botRoles: string[];
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  /** Live gateway sessions: Discord sends every event to each session of the token. */
  private readonly sockets = new Set<WebSocket>();
  private seq = 0;
  private sessionId = '';
  private port = 0;
  private readonly dmChannels = new Map<string, string>();
  private readonly interactions = new Map<string, InteractionState>();

  constructor(options: FakeDiscordOptions = {}) {
    super();
    this.guildId = options.guildId ?? nextId();
    this.appId = options.appId ?? nextId();
    this.bot = options.bot ?? { id: this.appId, username: 'virtbot', bot: true };
    this.channels = options.channels ?? [{ id: nextId(), name: 'ops' }];
    this.roles = options.roles ?? [];
    this.members = options.members ?? [];
    this.botRoles = options.botRoles ?? [];
    this.token = options.token ?? 'fake-token';
    this.messageContentAllowed = options.messageContentAllowed ?? true;
    this.dmsClosed = new Set(options.dmsClosed ?? []);
    this.callbackLatencyMs = options.callbackLatencyMs ?? 0;
    this.commandSizeLimit = options.commandSizeLimit ?? 8000;
  }

  /** The REST base URL for `rest: { api }`. */
  get api(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  /** Gateway sessions currently open. */
  get sessions(): number {
    return this.sockets.size;
  }

  /** Listens on `port` (default: a random free one). */
  async start(port = 0): Promise<void> {
    const http = createServer((req, res) => void this.onRequest(req, res));
    const wss = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    this.http = http;
    this.wss = wss;
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    this.port = (http.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    this.http?.closeAllConnections();
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
  }

  // ---- gateway ------------------------------------------------------------------------

  /** Sends a dispatch event with the next sequence number to every session. */
  dispatch(t: string, d: unknown): void {
    this.seq += 1;
    const payload = JSON.stringify({ op: 0, t, s: this.seq, d });
    for (const ws of this.sockets) ws.send(payload);
  }

  private onSocket(ws: WebSocket): void {
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      const payload = JSON.parse(data.toString()) as { op: number; d: Record<string, unknown> };
      this.emit('gateway', payload);
      switch (payload.op) {
        case 1:
          ws.send(JSON.stringify({ op: 11 }));
          break;
        case 2: {
          this.identifies += 1;
          if (payload.d['token'] !== this.token) {
            ws.close(4004, 'Authentication failed.');
            this.emit('closed', 4004);
            return;
          }
          const intents = Number(payload.d['intents'] ?? 0);
          if (intents & 32768 && !this.messageContentAllowed) {
            ws.close(4014, 'Disallowed intent(s).');
            this.emit('closed', 4014);
            return;
          }
          this.sockets.add(ws);
          this.onIdentify(ws);
          break;
        }
        case 6:
          this.resumes += 1;
          if (payload.d['session_id'] === this.sessionId && payload.d['token'] === this.token) {
            this.sockets.add(ws);
            this.seq += 1;
            ws.send(JSON.stringify({ op: 0, t: 'RESUMED', s: this.seq, d: {} }));
          } else {
            ws.send(JSON.stringify({ op: 9, d: false }));
          }
          this.emit('resumed', payload.d);
          break;
      }
    });
  }

  private onIdentify(ws: WebSocket): void {
    this.sessionId = `session-${nextId()}`;
    const send = (t: string, d: unknown) => {
      this.seq += 1;
      ws.send(JSON.stringify({ op: 0, t, s: this.seq, d }));
    };
    send('READY', {
      v: 10,
      user: { ...this.userJson(this.bot), bot: true },
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: this.sessionId,
      resume_gateway_url: this.gatewayUrl,
      application: { id: this.appId, flags: 0 },
      shard: [0, 1],
    });
    send('GUILD_CREATE', this.guildJson());
    this.emit('identified');
  }

  /** Closes the gateway connection abnormally (code 4000): the client should RESUME. */
  dropGateway(): void {
    this.closeGateway(4000, 'test disconnect');
  }

  /** Closes every gateway session with a close code (4004: token no longer valid, 4014: intents…). */
  closeGateway(code: number, reason = 'closed by the fake'): void {
    for (const ws of this.sockets) ws.close(code, reason);
    this.sockets.clear();
  }

  private userJson(user: FakeUser): Record<string, unknown> {
    return {
      id: user.id,
      username: user.username,
      discriminator: '0',
      global_name: null,
      avatar: null,
      ...(user.bot ? { bot: true } : {}),
    };
  }

  private memberJson(member: FakeMember): Record<string, unknown> {
    return {
      user: this.userJson(member.user),
      roles: member.roles,
      joined_at: '2024-01-01T00:00:00.000Z',
      deaf: false,
      mute: false,
      flags: 0,
    };
  }

  memberOf(userId: string): FakeMember | undefined {
    return this.members.find((m) => m.user.id === userId);
  }

  private channelJson(c: FakeChannel, i: number): Record<string, unknown> {
    return {
      id: c.id,
      type: 0,
      name: c.name,
      guild_id: this.guildId,
      position: i,
      permission_overwrites: [],
      topic: c.topic ?? null,
    };
  }

  private guildJson(): Record<string, unknown> {
    return {
      id: this.guildId,
      name: 'Test Guild',
      icon: null,
      owner_id: '100000000000000099',
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      premium_tier: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      system_channel_flags: 0,
      features: [],
      emojis: [],
      stickers: [],
      roles: [
        {
          id: this.guildId,
          name: '@everyone',
          permissions: '1071698660929',
          position: 0,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        },
        ...this.roles.map((r, i) => ({
          id: r.id,
          name: r.name,
          permissions: r.permissions ?? '0',
          position: i + 1,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        })),
      ],
      channels: this.channels.map((c, i) => this.channelJson(c, i)),
      threads: [],
      members: [
        { ...this.memberJson({ user: this.bot, roles: this.botRoles }) },
        ...this.members.map((m) => this.memberJson(m)),
      ],
      presences: [],
      voice_states: [],
      member_count: this.members.length + 1,
      large: false,
      unavailable: false,
      joined_at: '2024-01-01T00:00:00.000Z',
    };
  }

  private messageJson(
    channelId: string,
    author: FakeUser,
    content: string,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    return {
      id: nextId(),
      channel_id: channelId,
      author: this.userJson(author),
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      type: 0,
      flags: 0,
      ...extra,
    };
  }

  /** A person writes in a guild channel. `mentionBot` prefixes `<@bot>` and lists the mention. */
  say(
    user: FakeUser,
    content: string,
    { channelId = this.channels[0]!.id, mentionBot = false } = {},
  ): string {
    const text = mentionBot ? `<@${this.bot.id}> ${content}` : content;
    const member = this.memberOf(user.id);
    const msg = this.messageJson(channelId, user, text, {
      guild_id: this.guildId,
      member: {
        roles: member?.roles ?? [],
        joined_at: '2024-01-01T00:00:00.000Z',
        deaf: false,
        mute: false,
        flags: 0,
      },
      mentions: mentionBot ? [this.userJson(this.bot)] : [],
    });
    this.messages.set(msg['id'] as string, msg);
    // Without the Message Content intent, Discord sends content only for messages that mention the bot.
    this.dispatch('MESSAGE_CREATE', this.messageContentAllowed || mentionBot ? msg : { ...msg, content: '' });
    return msg['id'] as string;
  }

  /** The DM channel id between the bot and a user. */
  dmChannel(userId: string): string {
    let id = this.dmChannels.get(userId);
    if (!id) {
      id = nextId();
      this.dmChannels.set(userId, id);
    }
    return id;
  }

  /** A person writes to the bot in a DM. */
  dm(user: FakeUser, content: string): string {
    const msg = this.messageJson(this.dmChannel(user.id), user, content, { channel_type: 1 });
    this.dispatch('MESSAGE_CREATE', msg);
    return msg['id'] as string;
  }

  /** Someone changes a channel's topic. */
  setTopic(channelId: string, topic: string): void {
    const index = this.channels.findIndex((c) => c.id === channelId);
    const channel = this.channels[index]!;
    channel.topic = topic;
    this.dispatch('CHANNEL_UPDATE', this.channelJson(channel, index));
  }

  private interactionBase(user: FakeUser, channelId: string | null, type: number): Record<string, unknown> {
    const member = this.memberOf(user.id);
    const inGuild = channelId !== null;
    const channel = inGuild ? this.channels.find((c) => c.id === channelId) : undefined;
    const id = nextId();
    const token = `token-${nextId()}`;
    this.interactions.set(token, {
      id,
      token,
      type,
      createdAt: Date.now(),
      acknowledged: false,
      own: new Set(),
      channelId: channelId ?? this.dmChannel(user.id),
    });
    return {
      id,
      application_id: this.appId,
      token,
      version: 1,
      app_permissions: '1071698660929',
      locale: 'en-US',
      entitlements: [],
      ...(inGuild
        ? {
            guild_id: this.guildId,
            guild_locale: 'en-US',
            channel_id: channelId,
            channel: {
              id: channelId,
              type: 0,
              name: channel?.name ?? 'x',
              guild_id: this.guildId,
              position: 0,
              permission_overwrites: [],
            },
            member: { ...this.memberJson(member ?? { user, roles: [] }), permissions: '1071698660929' },
            authorizing_integration_owners: { 0: this.guildId },
            context: 0,
          }
        : {
            channel_id: this.dmChannel(user.id),
            channel: { id: this.dmChannel(user.id), type: 1, recipients: [this.userJson(user)] },
            user: this.userJson(user),
            authorizing_integration_owners: { 1: user.id },
            context: 1,
          }),
    };
  }

  /**
   * A person runs a slash command: `path` is [command, group?, subcommand?] as registered,
   * `options` the leaf options. Returns the interaction token (to find the responses).
   */
  slash(
    user: FakeUser,
    path: string[],
    options: Record<string, string | number | boolean> = {},
    {
      channelId = this.channels[0]!.id as string | null,
      focused,
    }: { channelId?: string | null; focused?: string } = {},
  ): string {
    const command = (this.guildCommands.get(this.guildId) ?? []).find((c) => c['name'] === path[0]);
    if (!command) throw new Error(`fake discord: no registered command /${path[0]}`);
    const typeOf = (name: string, value: unknown) => {
      const leafOptions = this.leafOptionsOf(command, path.slice(1));
      const declared = leafOptions.find((o) => o['name'] === name);
      if (declared) return declared['type'] as number;
      return typeof value === 'number' ? 4 : typeof value === 'boolean' ? 5 : 3;
    };
    let leaf: Array<Record<string, unknown>> = Object.entries(options).map(([name, value]) => ({
      type: typeOf(name, value),
      name,
      value,
      ...(focused === name ? { focused: true } : {}),
    }));
    if (path.length === 3)
      leaf = [{ type: 2, name: path[1], options: [{ type: 1, name: path[2], options: leaf }] }];
    else if (path.length === 2) leaf = [{ type: 1, name: path[1], options: leaf }];
    const type = focused ? 4 : 2;
    const base = this.interactionBase(user, channelId, type);
    this.dispatch('INTERACTION_CREATE', {
      ...base,
      type,
      data: {
        id: command['id'] as string,
        name: path[0],
        type: 1,
        options: leaf,
        ...(channelId ? { guild_id: this.guildId } : {}),
      },
    });
    return base['token'] as string;
  }

  private leafOptionsOf(
    command: Record<string, unknown> | undefined,
    rest: string[],
  ): Array<Record<string, unknown>> {
    let options = (command?.['options'] as Array<Record<string, unknown>> | undefined) ?? [];
    for (const name of rest) {
      options =
        (options.find((o) => o['name'] === name)?.['options'] as
          | Array<Record<string, unknown>>
          | undefined) ?? [];
    }
    return options;
  }

  /** The newest message carrying a button with this custom_id. */
  messageWithButton(customId: string): Record<string, unknown> | undefined {
    return [...this.messages.values()]
      .reverse()
      .find((m) => JSON.stringify(m['components'] ?? []).includes(JSON.stringify(customId)));
  }

  /** The state of a button on the newest message that has it: undefined if there is none. */
  button(customId: string): { disabled: boolean; label: string } | undefined {
    const message = this.messageWithButton(customId);
    for (const row of (message?.['components'] as Array<{ components: Array<Record<string, unknown>> }>) ??
      []) {
      for (const b of row.components ?? []) {
        if (b['custom_id'] === customId)
          return { disabled: b['disabled'] === true, label: String(b['label']) };
      }
    }
    return undefined;
  }

  /** A person clicks a button on a message the bot sent (found by custom_id among recorded messages). */
  click(
    user: FakeUser,
    customId: string,
    { channelId = this.channels[0]!.id as string | null } = {},
  ): string {
    const message = this.messageWithButton(customId);
    if (!message) throw new Error(`no message with a button ${customId}`);
    if (this.button(customId)?.disabled) throw new Error(`fake discord: button ${customId} is disabled`);
    const base = this.interactionBase(user, channelId, 3);
    const state = this.interactions.get(base['token'] as string)!;
    // For a component interaction, the "original" is the message the component is on.
    state.originalId = message['id'] as string;
    this.dispatch('INTERACTION_CREATE', {
      ...base,
      type: 3,
      message,
      data: { custom_id: customId, component_type: 2 },
    });
    return base['token'] as string;
  }

  /** Waits for `count` responses to an interaction. */
  async waitForResponses(token: string, count = 1, ms = 5000): Promise<InteractionResponse[]> {
    const mine = () => this.responses.filter((r) => r.token === token);
    if (mine().length < count) {
      await waitForEvent(this, 'response', ms, () => mine().length >= count);
    }
    return mine();
  }

  /** Waits for a REST request that matches. */
  async waitForRequest(
    match: (r: RecordedRequest) => boolean,
    ms = 5000,
    from = 0,
  ): Promise<RecordedRequest> {
    const found = this.requests.slice(from).find(match);
    if (found) return found;
    const [r] = await waitForEvent<[RecordedRequest]>(this, 'request', ms, match);
    return r;
  }

  // ---- REST ---------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname.replace(/^\/api\/v\d+/, ''));
    const contentType = req.headers['content-type'] ?? '';
    let body: unknown = {};
    let files: Array<{ name: string; content: string }> = [];
    if (contentType.startsWith('multipart/form-data')) {
      ({ json: body, files } = parseMultipart(raw, contentType));
    } else if (raw.length > 0) {
      body = JSON.parse(raw.toString('utf8'));
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      body,
      files,
    };
    const tokenless = /^\/(interactions|webhooks)\//.test(path);
    if (tokenless && /^\/interactions\//.test(path) && this.callbackLatencyMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.callbackLatencyMs));
    }
    const reply = (status: number, json?: unknown): true => {
      record.status = status;
      if (json === undefined) {
        res.writeHead(status).end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      }
      return true;
    };
    this.requests.push(record);
    try {
      if (!tokenless && req.headers['authorization'] !== `Bot ${this.token}`) {
        throw new ApiError(401, 0, '401: Unauthorized');
      }
      this.route(record, reply);
    } catch (err) {
      if (err instanceof FormError) {
        record.error = { code: 50035, message: err.message };
        reply(400, { message: err.message, code: 50035, errors: err.errors });
      } else if (err instanceof ApiError) {
        record.error = { code: err.code, message: err.message };
        reply(err.status, { message: err.message, code: err.code });
      } else {
        reply(500, { message: String(err), code: 0 });
      }
    }
    this.emit('request', record);
  }

  /** Checks a message body as Discord does; `editing` allows partial bodies. */
  private checkMessage(b: Record<string, unknown>, files: unknown[], editing: boolean): void {
    if (typeof b['allowed_mentions'] !== 'object' || b['allowed_mentions'] === null) {
      throw fieldError(
        ['allowed_mentions'],
        'FAKE_DISCORD_ALLOWED_MENTIONS',
        'fake discord: every message must say allowed_mentions',
      );
    }
    const content = b['content'];
    if (typeof content === 'string' && content.length > 2000) {
      throw fieldError(['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
    }
    const embeds = (b['embeds'] as Array<Record<string, unknown>> | undefined) ?? [];
    if (embeds.length > 10)
      throw fieldError(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
    let total = 0;
    embeds.forEach((e, i) => {
      const title = String(e['title'] ?? '');
      if (title.length > 256)
        throw fieldError(['embeds', i, 'title'], 'BASE_TYPE_MAX_LENGTH', 'Must be 256 or fewer in length.');
      const description = String(e['description'] ?? '');
      if (description.length > 4096)
        throw fieldError(
          ['embeds', i, 'description'],
          'BASE_TYPE_MAX_LENGTH',
          'Must be 4096 or fewer in length.',
        );
      const fields = (e['fields'] as Array<{ name: string; value: string }> | undefined) ?? [];
      if (fields.length > 25)
        throw fieldError(['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      fields.forEach((f, j) => {
        if (!f.name || f.name.length > 256)
          throw fieldError(
            ['embeds', i, 'fields', j, 'name'],
            'BASE_TYPE_BAD_LENGTH',
            'Must be between 1 and 256 in length.',
          );
        if (!f.value || f.value.length > 1024)
          throw fieldError(
            ['embeds', i, 'fields', j, 'value'],
            'BASE_TYPE_BAD_LENGTH',
            'Must be between 1 and 1024 in length.',
          );
        total += f.name.length + f.value.length;
      });
      total += title.length + description.length;
    });
    if (total > 6000)
      throw fieldError(['embeds'], 'EMBED_TOO_LONG', 'Embed size exceeds maximum size of 6000');
    const rows =
      (b['components'] as Array<{ components?: Array<Record<string, unknown>> }> | undefined) ?? [];
    if (rows.length > 5)
      throw fieldError(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
    rows.forEach((row, i) => {
      if ((row.components ?? []).length > 5)
        throw fieldError(
          ['components', i, 'components'],
          'BASE_TYPE_MAX_LENGTH',
          'Must be 5 or fewer in length.',
        );
      (row.components ?? []).forEach((c, j) => {
        if (String(c['custom_id'] ?? '').length > 100)
          throw fieldError(
            ['components', i, 'components', j, 'custom_id'],
            'BASE_TYPE_MAX_LENGTH',
            'Must be 100 or fewer in length.',
          );
        if (String(c['label'] ?? '').length > 80)
          throw fieldError(
            ['components', i, 'components', j, 'label'],
            'BASE_TYPE_MAX_LENGTH',
            'Must be 80 or fewer in length.',
          );
      });
    });
    const empty =
      (typeof content !== 'string' || content === '') &&
      embeds.length === 0 &&
      files.length === 0 &&
      rows.length === 0;
    if (!editing && empty) throw new ApiError(400, 50006, 'Cannot send an empty message');
  }

  private interaction(token: string): InteractionState {
    const state = this.interactions.get(token);
    if (!state) throw new ApiError(404, 10015, 'Unknown Webhook');
    return state;
  }

  private route(r: RecordedRequest, reply: (status: number, json?: unknown) => true): true {
    const b = r.body as Record<string, unknown>;
    const hit = (method: string, pattern: RegExp): string[] | null => {
      if (r.method !== method) return null;
      const m = pattern.exec(r.path);
      return m ? m.slice(1).map(String) : null;
    };
    if (hit('GET', /^\/gateway\/bot$/)) {
      return reply(200, {
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 14_400_000, max_concurrency: 1 },
      });
    }
    const commandsOf = /^\/applications\/\d+\/guilds\/(\d+)\/commands$/;
    const listCommands = hit('GET', commandsOf);
    if (listCommands) return reply(200, this.guildCommands.get(listCommands[0]!) ?? []);
    const putCommands = hit('PUT', commandsOf);
    if (putCommands) {
      const guild = putCommands[0]!;
      const list = b as unknown as Array<Record<string, unknown>>;
      this.checkCommands(list);
      this.commandPuts += 1;
      const stored = list.map((c) => ({
        ...c,
        id: nextId(),
        application_id: this.appId,
        guild_id: guild,
        version: nextId(),
        default_member_permissions: c['default_member_permissions'] ?? null,
      }));
      this.guildCommands.set(guild, stored);
      return reply(200, stored);
    }
    const getChannel = hit('GET', /^\/channels\/(\d+)$/);
    if (getChannel) {
      const index = this.channels.findIndex((c) => c.id === getChannel[0]);
      if (index < 0) throw new ApiError(404, 10003, 'Unknown Channel');
      return reply(200, this.channelJson(this.channels[index]!, index));
    }
    const patchChannel = hit('PATCH', /^\/channels\/(\d+)$/);
    if (patchChannel) {
      const index = this.channels.findIndex((c) => c.id === patchChannel[0]);
      if (index < 0) throw new ApiError(404, 10003, 'Unknown Channel');
      if (!this.botHas(16n)) throw new ApiError(403, 50013, 'Missing Permissions');
      const channel = this.channels[index]!;
      if (typeof b['topic'] === 'string') {
        if (b['topic'].length > 1024)
          throw fieldError(['topic'], 'BASE_TYPE_MAX_LENGTH', 'Must be 1024 or fewer in length.');
        channel.topic = b['topic'];
      }
      return reply(200, this.channelJson(channel, index));
    }
    const post = hit('POST', /^\/channels\/(\d+)\/messages$/);
    if (post) {
      this.checkMessage(b, r.files, false);
      const channelId = post[0]!;
      const dmUser = [...this.dmChannels].find(([, id]) => id === channelId)?.[0];
      if (dmUser && this.dmsClosed.has(dmUser))
        throw new ApiError(403, 50007, 'Cannot send messages to this user');
      const msg = this.messageJson(channelId, this.bot, (b['content'] as string) ?? '', {
        components: b['components'] ?? [],
        embeds: b['embeds'] ?? [],
        allowed_mentions: b['allowed_mentions'],
        attachments: r.files.map((f) => ({
          id: nextId(),
          filename: f.name,
          size: f.content.length,
          url: `http://x/${f.name}`,
          proxy_url: `http://x/${f.name}`,
        })),
      });
      this.messages.set(msg['id'] as string, msg);
      return reply(200, msg);
    }
    const edit = hit('PATCH', /^\/channels\/(\d+)\/messages\/(\d+)$/);
    if (edit) {
      this.checkMessage(b, r.files, true);
      const existing = this.messages.get(edit[1]!);
      if (!existing) throw new ApiError(404, 10008, 'Unknown Message');
      if ((existing['author'] as { id: string }).id !== this.bot.id)
        throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
      const msg = { ...existing, ...b, edited_timestamp: new Date().toISOString() };
      this.messages.set(edit[1]!, msg);
      return reply(200, msg);
    }
    if (hit('POST', /^\/channels\/\d+\/typing$/)) return reply(204);
    if (hit('POST', /^\/users\/@me\/channels$/)) {
      const recipient = b['recipient_id'] as string;
      const user = this.memberOf(recipient)?.user ?? { id: recipient, username: `user${recipient}` };
      return reply(200, {
        id: this.dmChannel(recipient),
        type: 1,
        recipients: [this.userJson(user)],
        last_message_id: null,
      });
    }
    const member = hit('GET', /^\/guilds\/\d+\/members\/(\d+)$/);
    if (member) {
      const found = this.memberOf(member[0]!);
      if (!found) throw new ApiError(404, 10007, 'Unknown Member');
      return reply(200, this.memberJson(found));
    }
    const callback = hit('POST', /^\/interactions\/(\d+)\/([^/]+)\/callback$/);
    if (callback) return this.onCallback(r, callback[1]!, b, reply);
    const webhookMessage = /^\/webhooks\/\d+\/([^/]+)\/messages\/([^/]+)$/;
    const editResponse = hit('PATCH', webhookMessage);
    if (editResponse) {
      const state = this.acknowledged(editResponse[0]!);
      this.checkMessage(b, r.files, true);
      const id = this.ownMessage(state, editResponse[1]!);
      if (editResponse[1] === '@original') delete state.pendingDefer;
      const msg = { ...this.messages.get(id)!, ...b, edited_timestamp: new Date().toISOString() };
      this.messages.set(id, msg);
      this.pushResponse({ token: state.token, kind: 'edit', body: b, files: r.files, messageId: id });
      return reply(200, msg);
    }
    const deleteResponse = hit('DELETE', webhookMessage);
    if (deleteResponse) {
      const state = this.acknowledged(deleteResponse[0]!);
      const id = this.ownMessage(state, deleteResponse[1]!);
      this.messages.delete(id);
      if (deleteResponse[1] === '@original') delete state.pendingDefer;
      this.pushResponse({ token: state.token, kind: 'delete', body: {}, files: [], messageId: id });
      return reply(204);
    }
    const followUp = hit('POST', /^\/webhooks\/\d+\/([^/]+)$/);
    if (followUp) {
      const state = this.acknowledged(followUp[0]!);
      this.checkMessage(b, r.files, false);
      let msg: Record<string, unknown>;
      if (state.pendingDefer && state.originalId) {
        // The first follow-up after a deferred response replaces the "thinking…" message, and keeps its flags.
        msg = { ...this.messages.get(state.originalId)!, ...b, flags: state.pendingDefer.flags };
        delete state.pendingDefer;
        this.messages.set(state.originalId, msg);
      } else {
        msg = this.createResponseMessage(state, b);
      }
      this.pushResponse({
        token: state.token,
        kind: 'followup',
        body: b,
        files: r.files,
        messageId: msg['id'] as string,
      });
      return reply(200, msg);
    }
    throw new ApiError(404, 0, `fake discord: no route for ${r.method} ${r.path}`);
  }

  private botHas(bit: bigint): boolean {
    let permissions = 1071698660929n;
    for (const id of this.botRoles)
      permissions |= BigInt(this.roles.find((r) => r.id === id)?.permissions ?? '0');
    return (permissions & bit) === bit || (permissions & 8n) === 8n;
  }

  private acknowledged(token: string): InteractionState {
    const state = this.interaction(token);
    if (!state.acknowledged) throw new ApiError(404, 10015, 'Unknown Webhook');
    if (Date.now() - state.createdAt > 15 * 60_000) throw new ApiError(401, 50027, 'Invalid Webhook Token');
    return state;
  }

  /** An interaction token reaches only its own messages. */
  private ownMessage(state: InteractionState, ref: string): string {
    const id = ref === '@original' ? state.originalId : ref;
    if (!id || !this.messages.has(id) || (ref !== '@original' && !state.own.has(id)))
      throw new ApiError(404, 10008, 'Unknown Message');
    return id;
  }

  private createResponseMessage(
    state: InteractionState,
    data: Record<string, unknown>,
  ): Record<string, unknown> {
    const msg = this.messageJson(state.channelId, this.bot, (data['content'] as string) ?? '', {
      components: data['components'] ?? [],
      embeds: data['embeds'] ?? [],
      flags: data['flags'] ?? 0,
      allowed_mentions: data['allowed_mentions'],
      interaction_token: state.token,
    });
    this.messages.set(msg['id'] as string, msg);
    state.own.add(msg['id'] as string);
    return msg;
  }

  private onCallback(
    r: RecordedRequest,
    token: string,
    b: Record<string, unknown>,
    reply: (status: number, json?: unknown) => true,
  ): true {
    const state = this.interactions.get(token);
    if (!state || Date.now() - state.createdAt > 3000) throw new ApiError(404, 10062, 'Unknown interaction');
    if (state.acknowledged) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
    const type = b['type'] as number;
    const data = (b['data'] as Record<string, unknown> | undefined) ?? {};
    if (type === 8) {
      if (state.type !== 4)
        throw new ApiError(400, 50035, 'Autocomplete response to a non-autocomplete interaction');
      const choices = (data['choices'] as Array<{ name: unknown; value: unknown }> | undefined) ?? [];
      if (choices.length > 25)
        throw fieldError(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      choices.forEach((c, i) => {
        if (typeof c.name !== 'string' || c.name.length < 1 || c.name.length > 100)
          throw fieldError(
            ['data', 'choices', i, 'name'],
            'BASE_TYPE_BAD_LENGTH',
            'Must be between 1 and 100 in length.',
          );
        if (typeof c.value === 'string' && c.value.length > 100)
          throw fieldError(
            ['data', 'choices', i, 'value'],
            'BASE_TYPE_MAX_LENGTH',
            'Must be 100 or fewer in length.',
          );
      });
    } else if (state.type === 4) {
      throw new ApiError(400, 50035, 'An autocomplete interaction takes only an autocomplete response');
    }
    if ((type === 6 || type === 7) && state.type !== 3)
      throw new ApiError(400, 50035, 'Only a component interaction can update its message');
    let messageId: string | undefined;
    if (type === 4) {
      this.checkMessage(data, r.files, false);
      const msg = this.createResponseMessage(state, data);
      state.originalId = msg['id'] as string;
      messageId = state.originalId;
    } else if (type === 5) {
      const msg = this.createResponseMessage(state, {
        content: '',
        flags: data['flags'] ?? 0,
        allowed_mentions: {},
      });
      state.originalId = msg['id'] as string;
      state.pendingDefer = { flags: Number(data['flags'] ?? 0) };
      messageId = state.originalId;
    } else if (type === 7) {
      this.checkMessage(data, r.files, true);
      messageId = state.originalId!;
      this.messages.set(messageId, {
        ...this.messages.get(messageId)!,
        ...data,
        edited_timestamp: new Date().toISOString(),
      });
    }
    state.acknowledged = true;
    this.pushResponse({
      token,
      kind: 'callback',
      type,
      body: data,
      files: r.files,
      ...(messageId ? { messageId } : {}),
    });
    return reply(204);
  }

  /** Registration limits, reported as Discord does: by index path. */
  private checkCommands(list: Array<Record<string, unknown>>): void {
    if (list.length > 100) throw fieldError([], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    const names = new Set<string>();
    list.forEach((command, i) => {
      const name = String(command['name'] ?? '');
      if (!NAME.test(name) || name !== name.toLowerCase())
        throw fieldError([i, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
      if (names.has(name))
        throw fieldError(
          [i, 'name'],
          'APPLICATION_COMMANDS_DUPLICATE_NAME',
          'Application command names must be unique',
        );
      names.add(name);
      this.checkDescription(command, [i]);
      let size = 0;
      const walk = (options: Array<Record<string, unknown>>, path: Array<string | number>, depth: number) => {
        if (options.length > 25)
          throw fieldError([...path, 'options'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
        const seen = new Set<string>();
        let optional = false;
        options.forEach((o, j) => {
          const at = [...path, 'options', j];
          const optionName = String(o['name'] ?? '');
          if (!NAME.test(optionName))
            throw fieldError([...at, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
          if (seen.has(optionName))
            throw fieldError(
              [...at, 'name'],
              'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS',
              'Option names must be unique',
            );
          seen.add(optionName);
          this.checkDescription(o, at);
          size += optionName.length + String(o['description']).length;
          const type = Number(o['type']);
          if (type === 1 || type === 2) {
            if ((type === 2 && depth > 0) || (type === 1 && depth > 1))
              throw fieldError(
                [...at, 'type'],
                'APPLICATION_COMMAND_OPTION_TYPE_INVALID',
                'Subcommands nest at most two levels',
              );
            walk((o['options'] as Array<Record<string, unknown>> | undefined) ?? [], at, depth + 1);
            return;
          }
          if (o['required'] === true && optional)
            throw fieldError(
              [...at, 'required'],
              'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
              'Required options must be placed before non-required options',
            );
          if (o['required'] !== true) optional = true;
          const choices = (o['choices'] as Array<{ name: string; value: unknown }> | undefined) ?? [];
          if (choices.length > 25)
            throw fieldError([...at, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
          if (choices.length > 0 && o['autocomplete'] === true)
            throw fieldError(
              [...at, 'autocomplete'],
              'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID',
              'Autocomplete cannot be set with choices',
            );
          choices.forEach((c, k) => {
            if (c.name.length < 1 || c.name.length > 100)
              throw fieldError(
                [...at, 'choices', k, 'name'],
                'BASE_TYPE_BAD_LENGTH',
                'Must be between 1 and 100 in length.',
              );
            if (typeof c.value === 'string' && c.value.length > 100)
              throw fieldError(
                [...at, 'choices', k, 'value'],
                'BASE_TYPE_MAX_LENGTH',
                'Must be 100 or fewer in length.',
              );
            size += c.name.length + String(c.value).length;
          });
        });
      };
      walk((command['options'] as Array<Record<string, unknown>> | undefined) ?? [], [i], 0);
      size += name.length + String(command['description']).length;
      if (size > this.commandSizeLimit)
        throw fieldError(
          [i],
          'APPLICATION_COMMAND_TOO_LARGE',
          `Command exceeds maximum size (${this.commandSizeLimit})`,
        );
    });
  }

  private checkDescription(o: Record<string, unknown>, path: Array<string | number>): void {
    const description = o['description'];
    if (typeof description !== 'string' || description.length < 1 || description.length > 100)
      throw fieldError(
        [...path, 'description'],
        'BASE_TYPE_BAD_LENGTH',
        'Must be between 1 and 100 in length.',
      );
  }

  private pushResponse(response: InteractionResponse): void {
    this.responses.push(response);
    this.emit('response', response);
  }
}
