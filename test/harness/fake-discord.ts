/**
 * A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.js client:
 * `new Client({ rest: { api: fake.api } })`. Speaks plain-JSON gateway v10 (no zlib-sync):
 * HELLO, IDENTIFY → READY + GUILD_CREATE, HEARTBEAT → ACK, RESUME → RESUMED, increasing `s`.
 * REST: the routes virtbot uses (messages, DMs, members, interaction callbacks and webhooks,
 * application commands); anything else is a 404 so unexpected calls surface as errors.
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

export interface FakeDiscordOptions {
  guildId?: string;
  guildName?: string;
  appId?: string;
  bot?: FakeUser;
  channels?: Array<{ id: string; name: string }>;
  roles?: Array<{ id: string; name: string }>;
  members?: FakeMember[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** JSON body, or for multipart the parsed payload_json plus `files`. */
  body: unknown;
  files: Array<{ name: string; content: string }>;
}

export interface InteractionResponse {
  token: string;
  kind: 'callback' | 'edit' | 'followup' | 'delete';
  body: Record<string, unknown>;
  files: Array<{ name: string; content: string }>;
  /** Callback type for 'callback' (4 reply, 5 defer, 6 deferred update, 7 update, 8 autocomplete). */
  type?: number;
}

let snowflake = 1_300_000_000_000_000_000n;
export function nextId(): string {
  snowflake += 1n;
  return snowflake.toString();
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

export class FakeDiscord extends EventEmitter {
  readonly guildId: string;
  readonly appId: string;
  readonly bot: FakeUser;
  readonly channels: Array<{ id: string; name: string }>;
  readonly roles: Array<{ id: string; name: string }>;
  readonly members: FakeMember[];
  readonly requests: RecordedRequest[] = [];
  readonly responses: InteractionResponse[] = [];
  /** Guild commands as registered (PUT), by guild id. */
  readonly guildCommands = new Map<string, Array<Record<string, unknown>>>();
  commandPuts = 0;
  identifies = 0;
  resumes = 0;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private socket: WebSocket | undefined;
  private seq = 0;
  private sessionId = '';
  private port = 0;
  private readonly dmChannels = new Map<string, string>();
  private readonly messages = new Map<string, Record<string, unknown>>();

  constructor(options: FakeDiscordOptions = {}) {
    super();
    this.guildId = options.guildId ?? '100000000000000001';
    this.appId = options.appId ?? '100000000000000002';
    this.bot = options.bot ?? { id: this.appId, username: 'virtbot', bot: true };
    this.channels = options.channels ?? [{ id: '100000000000000010', name: 'ops' }];
    this.roles = options.roles ?? [];
    this.members = options.members ?? [];
  }

  /** The REST base URL for `rest: { api }`. */
  get api(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
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

  private send(payload: Record<string, unknown>): void {
    this.socket?.send(JSON.stringify(payload));
  }

  /** Sends a dispatch event with the next sequence number. */
  dispatch(t: string, d: unknown): void {
    this.seq += 1;
    this.send({ op: 0, t, s: this.seq, d });
  }

  private onSocket(ws: WebSocket): void {
    this.socket = ws;
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
    ws.on('message', (data) => {
      const payload = JSON.parse(data.toString()) as { op: number; d: Record<string, unknown> };
      this.emit('gateway', payload);
      switch (payload.op) {
        case 1:
          ws.send(JSON.stringify({ op: 11 }));
          break;
        case 2:
          this.identifies += 1;
          this.onIdentify();
          break;
        case 6:
          this.resumes += 1;
          if (payload.d['session_id'] === this.sessionId) {
            this.dispatch('RESUMED', {});
          } else {
            ws.send(JSON.stringify({ op: 9, d: false }));
          }
          this.emit('resumed', payload.d);
          break;
      }
    });
  }

  private onIdentify(): void {
    this.sessionId = `session-${nextId()}`;
    this.seq = 0;
    this.dispatch('READY', {
      v: 10,
      user: { ...this.userJson(this.bot), bot: true },
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: this.sessionId,
      resume_gateway_url: this.gatewayUrl,
      application: { id: this.appId, flags: 0 },
      shard: [0, 1],
    });
    this.dispatch('GUILD_CREATE', this.guildJson());
    this.emit('identified');
  }

  /** Closes the gateway connection abnormally (code 4000): the client should RESUME. */
  dropGateway(): void {
    this.socket?.close(4000, 'test disconnect');
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
          permissions: '0',
          position: i + 1,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        })),
      ],
      channels: this.channels.map((c, i) => ({
        id: c.id,
        type: 0,
        name: c.name,
        guild_id: this.guildId,
        position: i,
        permission_overwrites: [],
      })),
      threads: [],
      members: [
        { ...this.memberJson({ user: this.bot, roles: [] }) },
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
    this.dispatch('MESSAGE_CREATE', msg);
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

  private interactionBase(user: FakeUser, channelId: string | null): Record<string, unknown> {
    const member = this.memberOf(user.id);
    const inGuild = channelId !== null;
    const channel = inGuild ? this.channels.find((c) => c.id === channelId) : undefined;
    return {
      id: nextId(),
      application_id: this.appId,
      token: `token-${nextId()}`,
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
    const base = this.interactionBase(user, channelId);
    this.dispatch('INTERACTION_CREATE', {
      ...base,
      type: focused ? 4 : 2,
      data: {
        id: (command?.['id'] as string | undefined) ?? nextId(),
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

  /** A person clicks a button on a message the bot sent (found by custom_id among recorded messages). */
  click(
    user: FakeUser,
    customId: string,
    { channelId = this.channels[0]!.id as string | null } = {},
  ): string {
    const message = [...this.messages.values()]
      .reverse()
      .find((m) => JSON.stringify(m['components'] ?? []).includes(JSON.stringify(customId)));
    if (!message) throw new Error(`no message with a button ${customId}`);
    const base = this.interactionBase(user, channelId);
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
    this.requests.push(record);
    const reply = (status: number, json?: unknown): true => {
      if (json === undefined) {
        res.writeHead(status).end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      }
      return true;
    };
    try {
      this.route(record, reply);
    } catch (err) {
      reply(500, { message: String(err), code: 0 });
    }
    this.emit('request', record);
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
      this.commandPuts += 1;
      const stored = (b as unknown as Array<Record<string, unknown>>).map((c) => ({
        ...c,
        id: nextId(),
        application_id: this.appId,
        guild_id: guild,
        version: nextId(),
        default_member_permissions: null,
      }));
      this.guildCommands.set(guild, stored);
      return reply(200, stored);
    }
    const post = hit('POST', /^\/channels\/(\d+)\/messages$/);
    if (post) {
      const msg = this.messageJson(post[0]!, this.bot, (b['content'] as string) ?? '', {
        components: b['components'] ?? [],
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
      const msg = { ...(this.messages.get(edit[1]!) ?? this.messageJson(edit[0]!, this.bot, '')), ...b };
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
      if (!found) return reply(404, { message: 'Unknown Member', code: 10007 });
      return reply(200, this.memberJson(found));
    }
    const callback = hit('POST', /^\/interactions\/\d+\/([^/]+)\/callback$/);
    if (callback) {
      const data = (b['data'] as Record<string, unknown> | undefined) ?? {};
      if (b['type'] === 4 || b['type'] === 7) this.rememberResponseMessage(data);
      this.pushResponse({
        token: callback[0]!,
        kind: 'callback',
        type: b['type'] as number,
        body: data,
        files: r.files,
      });
      return reply(204);
    }
    const webhookMessage = /^\/webhooks\/\d+\/([^/]+)\/messages\/[^/]+$/;
    const editResponse = hit('PATCH', webhookMessage);
    if (editResponse) {
      const msg = this.rememberResponseMessage(b);
      this.pushResponse({ token: editResponse[0]!, kind: 'edit', body: b, files: r.files });
      return reply(200, msg);
    }
    const deleteResponse = hit('DELETE', webhookMessage);
    if (deleteResponse) {
      this.pushResponse({ token: deleteResponse[0]!, kind: 'delete', body: {}, files: [] });
      return reply(204);
    }
    const followUp = hit('POST', /^\/webhooks\/\d+\/([^/]+)$/);
    if (followUp) {
      const msg = this.rememberResponseMessage(b);
      this.pushResponse({ token: followUp[0]!, kind: 'followup', body: b, files: r.files });
      return reply(200, msg);
    }
    return reply(404, { message: `fake discord: no route for ${r.method} ${r.path}`, code: 0 });
  }

  private rememberResponseMessage(data: Record<string, unknown>): Record<string, unknown> {
    const msg = this.messageJson(this.channels[0]!.id, this.bot, (data['content'] as string) ?? '', {
      components: data['components'] ?? [],
      flags: data['flags'] ?? 0,
    });
    this.messages.set(msg['id'] as string, msg);
    return msg;
  }

  private pushResponse(response: InteractionResponse): void {
    this.responses.push(response);
    this.emit('response', response);
  }
}
