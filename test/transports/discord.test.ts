/**
 * The Discord transport with the real discord.js client against the fake gateway + REST server,
 * which refuses what Discord refuses (see test/harness/fake-discord.ts): registration (limits,
 * contexts, default_member_permissions, named errors), structured slash commands, mentions that
 * cannot ping, ephemeral errors, buttons that update their own message and lapse, approvals,
 * the 3-second window, closed DMs, autocomplete within Discord's limits, channels by name,
 * embeds, topics, budgets, fatal close codes, one token per session.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CommandSpec } from '../../src/command/spec.js';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { DiscordServerSchema } from '../../src/config/sections/transports.js';
import type { ChatEvent, InboundMessage, Reply } from '../../src/core/types.js';
import { DiscordTransport } from '../../src/transports/discord.js';
import { checkDiscordTokens } from '../../src/transports/index.js';
import { isInertDiscordText } from '../../src/transports/sanitize.js';
import type { CompletionRequest, TransportLogger } from '../../src/transports/transport.js';
import { FakeDiscord, type FakeUser, type InteractionResponse, nextId } from '../harness/fake-discord.js';
import { waitForEvent } from '../harness/util.js';

const OPS_ROLE = nextId();
const TOPIC_ROLE = nextId();
const alice: FakeUser = { id: nextId(), username: 'alice' };
const bob: FakeUser = { id: nextId(), username: 'bob' };
const carol: FakeUser = { id: nextId(), username: 'carol' };

const run = async () => ({ reply: '' });
const vmArg = { name: 'vm', type: 'vm' as const, positional: true, required: true, help: 'VM name' };
const specs: CommandSpec[] = [
  {
    path: ['vm', 'list'],
    summary: 'List VMs',
    args: [{ name: 'host', type: 'host', help: 'host' }],
    examples: [],
    run,
  },
  {
    path: ['vm', 'start'],
    summary: 'Start a VM',
    args: [vmArg, { name: 'host', type: 'host', help: 'host' }],
    examples: [],
    run,
  },
  {
    path: ['vm', 'create'],
    summary: 'Create a VM',
    args: [
      { ...vmArg, name: 'name', help: 'the new VM’s name' },
      { name: 'template', type: 'name', required: true, help: 'template' },
    ],
    target: { vm: 'name' },
    examples: [],
    run,
  },
  { path: ['vm', 'destroy'], summary: 'Destroy a VM', destructive: true, args: [vmArg], examples: [], run },
  {
    path: ['vm', 'nic', 'add'],
    summary: 'Add a network interface',
    args: [
      vmArg,
      { name: 'network', type: 'network', help: 'libvirt network' },
      { name: 'model', type: 'enum', choices: ['virtio', 'e1000'], help: 'NIC model' },
      { name: 'note', type: 'text', help: 'Free text' },
    ],
    examples: [],
    run,
  },
  {
    path: ['help'],
    summary: 'Help',
    args: [{ name: 'topic', type: 'text', positional: true, help: 'Topic' }],
    examples: [],
    run,
  },
  {
    path: ['confirm'],
    summary: 'Confirm',
    args: [{ name: 'code', type: 'code', positional: true, required: true, help: 'code' }],
    examples: [],
    run,
  },
];

function recordingLogger(): TransportLogger & { lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = '') =>
      lines.push(`${level} ${msg} ${JSON.stringify(obj)}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const allowedMentionsOf = (r: InteractionResponse | { body: unknown }) =>
  (r.body as { allowed_mentions?: unknown }).allowed_mentions;

describe('Discord transport (real discord.js, strict fake gateway + REST)', () => {
  const channels = [
    { id: nextId(), name: 'ops' },
    { id: nextId(), name: 'kimchi-ops' },
    { id: nextId(), name: 'elsewhere' },
  ];
  const fake = new FakeDiscord({
    channels,
    roles: [
      { id: OPS_ROLE, name: 'ops' },
      { id: TOPIC_ROLE, name: 'topics', permissions: '16' },
    ],
    members: [
      { user: alice, roles: [OPS_ROLE] },
      { user: bob, roles: [] },
      { user: carol, roles: [OPS_ROLE] },
    ],
    botRoles: [TOPIC_ROLE],
  });
  const [ops, kimchi, elsewhere] = channels as [
    (typeof channels)[0],
    (typeof channels)[0],
    (typeof channels)[0],
  ];
  const seen: InboundMessage[] = [];
  const events: ChatEvent[] = [];
  const completions: CompletionRequest[] = [];
  const logger = recordingLogger();
  let gate: Promise<void> = Promise.resolve();
  let bot: DiscordTransport;

  /** Stand-in for the pipeline. */
  async function handler(msg: InboundMessage): Promise<Reply[]> {
    seen.push(msg);
    if (!msg.addressed) return [];
    const [verb, ...rest] = msg.text.split(' ');
    const needsOps = msg.text.startsWith('vm destroy') || msg.text.startsWith('vm nic');
    if (needsOps && !msg.sender.roleIds?.includes(OPS_ROLE)) {
      return [{ text: `denied: ${msg.sender.nick} lacks the ops role`, kind: 'error', private: true }];
    }
    if (msg.text.startsWith('vm destroy')) {
      const code = `K${nextId().slice(-5)}`;
      return [
        {
          text: `vm destroy is destructive: confirm ${code}`,
          kind: 'confirm',
          confirmCode: code,
          private: true,
        },
      ];
    }
    if (msg.text === 'needs approval') {
      return [
        {
          text: 'needs approval: APPR1',
          kind: 'confirm',
          confirmCode: 'APPR1',
          actions: ['approve', 'deny', 'confirm', 'cancel'],
        },
      ];
    }
    if (verb === 'confirm' || verb === 'cancel' || verb === 'approve') {
      const [code] = rest;
      if (msg.sender.userId === bob.id)
        return [{ text: `code ${code} belongs to someone else`, kind: 'error' }];
      return [{ text: `${verb}ed ${code}`, kind: 'reply' }];
    }
    if (verb === 'seen') return [{ text: "unknown command 'seen'", kind: 'error', unknownCommand: true }];
    if (msg.text === 'vm list') {
      return [
        {
          text: 'VMs on test: 200',
          kind: 'reply',
          lines: Array.from({ length: 200 }, (_, i) => `vm${i} running`),
        },
      ];
    }
    if (msg.text === 'vm list hostile') {
      return [
        { text: 'VMs: 3', kind: 'reply', lines: ['@everyone', '**bold** <@&123>', '||spoiler|| @here'] },
      ];
    }
    if (msg.text === 'vm info web01') {
      return [
        {
          text: 'web01 on test: running',
          kind: 'reply',
          lines: ['vcpus 2'],
          card: {
            title: 'web01 **x**',
            fields: [
              { name: 'state', value: 'running' },
              { name: 'vcpus', value: '2' },
            ],
          },
        },
      ];
    }
    if (msg.text === 'help usage') return [{ text: "usage: vm start VM (missing 'vm')", kind: 'error' }];
    if (msg.text === 'help topic')
      return [{ text: 'topic set', kind: 'reply', setTopic: 'Sprint 12 @everyone' }];
    if (msg.text === 'help slow') {
      await gate;
      return [{ text: 'slow result', kind: 'reply' }];
    }
    if (msg.text === 'help slow-private') {
      await gate;
      return [{ text: 'slow and private', kind: 'error', private: true }];
    }
    return [{ text: `ok: ${msg.text}`, kind: 'reply' }];
  }

  function config(extra: Record<string, unknown> = {}) {
    return DiscordServerSchema.parse({
      name: 'testguild',
      token: { value: 'fake-token', insecure: true },
      guildId: fake.guildId,
      messageContent: true,
      api: fake.api,
      deferAfterMs: 250,
      channels: ['ops', '#kimchi-ops'],
      ...extra,
    });
  }

  beforeAll(async () => {
    await fake.start();
    bot = new DiscordTransport(config(), handler, specs, {
      logger,
      onEvent: (e) => events.push(e),
      confirmTimeoutSeconds: 3,
      completions: async (request) => {
        completions.push(request);
        if (request.prefix === 'slow') await new Promise(() => {}); // never answers
        return [
          ...Array.from({ length: 30 }, (_, i) => ({
            name: `web${String(i).padStart(2, '0')}`,
            value: `web${String(i).padStart(2, '0')}`,
          })),
          { name: 'x'.repeat(150), value: 'long-name' },
          { name: 'too long a value', value: 'v'.repeat(150) },
        ].sort((a, b) => (a.value === 'long-name' ? -1 : b.value === 'long-name' ? 1 : 0));
      },
    });
    const synced = waitForEvent<[boolean]>(bot, 'synced', 10_000);
    await bot.start();
    expect(await synced).toEqual([true]);
  }, 20_000);

  afterAll(async () => {
    await bot?.stop();
    await fake.stop();
  });

  async function handled(): Promise<InboundMessage> {
    const [msg] = await waitForEvent<[InboundMessage]>(bot, 'handled', 5000);
    return msg;
  }

  function channelPosts(from: number, channelId = ops.id) {
    return fake.requests
      .slice(from)
      .filter((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages` && r.status === 200);
  }

  describe('registration', () => {
    test('guild commands with contexts, no dm_permission; destructive groups need Manage Server; unchanged ones are not re-sent', async () => {
      expect(fake.commandPuts).toBe(1);
      const commands = fake.guildCommands.get(fake.guildId)!;
      expect(commands.map((c) => c['name']).sort()).toEqual(['confirm', 'help', 'meeting', 'vm']);
      for (const c of commands) {
        expect(c).toMatchObject({ contexts: [0], integration_types: [0] });
        expect(c).not.toHaveProperty('dm_permission');
      }
      const byName = (name: string) => commands.find((c) => c['name'] === name)!;
      expect(byName('vm')['default_member_permissions']).toBe('32'); // ManageGuild: /vm destroy is destructive
      expect(byName('help')['default_member_permissions']).toBeNull();
      const nic = (byName('vm')['options'] as Array<Record<string, unknown>>).find(
        (o) => o['name'] === 'nic',
      ) as {
        options: Array<{ name: string; options: Array<Record<string, unknown>> }>;
      };
      const add = nic.options.find((o) => o.name === 'add')!;
      expect(add.options.map((o) => o['name'])).toEqual(['vm', 'network', 'model', 'note']);
      expect(add.options[0]).toMatchObject({ type: 3, required: true, autocomplete: true });
      expect(add.options[1]).toMatchObject({ autocomplete: true }); // networks complete too
      expect(add.options[2]).toMatchObject({
        choices: [
          { name: 'virtio', value: 'virtio' },
          { name: 'e1000', value: 'e1000' },
        ],
      });
      expect(add.options[3]).not.toHaveProperty('autocomplete'); // free text does not

      await bot.stop();
      const synced = waitForEvent<[boolean]>(bot, 'synced', 10_000);
      await bot.start();
      expect(await synced).toEqual([false]);
      expect(fake.commandPuts).toBe(1);
    }, 20_000);

    test('a refused registration is logged by command and option name, not by index', async () => {
      fake.commandSizeLimit = 300;
      try {
        const failed = waitForEvent<[string[]]>(bot, 'registrationFailed', 5000);
        await bot.updateCommands([
          ...specs,
          { path: ['host', 'list'], summary: 'List hosts', args: [], examples: [], run },
        ]);
        const [reasons] = await failed;
        expect(reasons).toContainEqual(
          expect.stringMatching(/^\/meeting: Command exceeds maximum size \(300\)$/),
        );
        expect(logger.lines.some((l) => l.includes('Discord refused the slash commands: /meeting'))).toBe(
          true,
        );
      } finally {
        fake.commandSizeLimit = 8000;
      }
      expect(await bot.updateCommands(specs)).toBe(false);
    });
  });

  test('a slash command is a structured command, with its canonical text, the channel name as label', async () => {
    const got = handled();
    const token = fake.slash(alice, ['vm', 'nic', 'add'], {
      vm: 'web01',
      network: 'default',
      note: 'for the new VLAN',
    });
    const msg = await got;
    expect(msg).toMatchObject({
      text: 'vm nic add web01 network=default note="for the new VLAN"',
      command: {
        path: ['vm', 'nic', 'add'],
        options: { vm: 'web01', network: 'default', note: 'for the new VLAN' },
      },
      addressed: true,
      replyPrefix: '!',
      place: {
        transport: 'discord',
        network: 'testguild',
        channel: ops.id,
        label: 'ops',
        private: false,
        hearsChatter: true,
      },
      sender: { userId: alice.id },
    });
    expect(msg.id).toMatch(/^\d+$/);
    expect(msg.sender.roleIds).toEqual(expect.arrayContaining([OPS_ROLE, fake.guildId]));
    const [response] = await fake.waitForResponses(token);
    expect(response).toMatchObject({ kind: 'callback', type: 4 });
    expect(response!.body['flags'] ?? 0).toBe(0);
    expect(allowedMentionsOf(response!)).toEqual({ parse: [] });
  });

  test('nobody can make the bot ping: echoed text, meeting lines and VM names are escaped, and no mention is parsed', async () => {
    const help = fake.slash(bob, ['help'], { topic: '@everyone' });
    const [reply] = await fake.waitForResponses(help);
    expect(reply!.body['content']).toBe('ok: help @\u200beveryone');
    expect(allowedMentionsOf(reply!)).toEqual({ parse: [] });

    const info = fake.slash(bob, ['meeting', 'info'], { text: '@here **look** <@&123>' });
    const [echo] = await fake.waitForResponses(info);
    expect(isInertDiscordText(String(echo!.body['content']).replace(/^\*\*bob\*\*: /, ''))).toBe(true);
    expect(echo!.body['content']).toContain('@\u200bhere');

    const from = fake.requests.length;
    fake.say(alice, '!vm list hostile');
    const [post] = await (async () => {
      await fake.waitForRequest(
        (r) => r.method === 'POST' && r.path === `/channels/${ops.id}/messages`,
        5000,
        from,
      );
      return channelPosts(from);
    })();
    const body = post!.body as { content: string; allowed_mentions: unknown };
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(isInertDiscordText(body.content)).toBe(true);
    expect(body.content).not.toMatch(/(^|[^\\])\*\*bold/);
  });

  test('errors and private replies to slash commands are ephemeral', async () => {
    const usage = fake.slash(alice, ['help'], { topic: 'usage' });
    const [u] = await fake.waitForResponses(usage);
    expect(u).toMatchObject({ kind: 'callback', type: 4 });
    expect(u!.body['flags']).toBe(64);
    const denied = fake.slash(bob, ['vm', 'destroy'], { vm: 'web01' });
    const [d] = await fake.waitForResponses(denied);
    expect(d!.body).toMatchObject({ content: 'denied: bob lacks the ops role', flags: 64 });
  });

  describe('buttons', () => {
    async function confirmation(user: FakeUser): Promise<string> {
      const token = fake.slash(user, ['vm', 'destroy'], { vm: 'web01' });
      const [response] = await fake.waitForResponses(token);
      expect(response!.body['flags']).toBe(64);
      return /confirm (K\d+)/.exec(String(response!.body['content']))![1]!;
    }

    test('Confirm updates the very message it is on (no 404), disables its buttons, and the result follows', async () => {
      const code = await confirmation(alice);
      expect(fake.button(`virtbot:confirm:${code}`)).toEqual({ disabled: false, label: 'Confirm' });
      const got = handled();
      const click = fake.click(alice, `virtbot:confirm:${code}`);
      expect(await got).toMatchObject({
        text: `confirm ${code}`,
        command: { path: ['confirm'], options: { code } },
        addressed: true,
      });
      const responses = await fake.waitForResponses(click, 2);
      expect(responses[0]).toMatchObject({ kind: 'callback', type: 7 });
      expect(allowedMentionsOf(responses[0]!)).toEqual({ parse: [] });
      expect(responses[1]).toMatchObject({ kind: 'followup', body: { content: `confirmed ${code}` } });
      expect(fake.button(`virtbot:confirm:${code}`)).toEqual({ disabled: true, label: 'Confirm' });
      expect(fake.button(`virtbot:cancel:${code}`)?.disabled).toBe(true);
      expect(fake.requests.filter((r) => r.status === 404)).toEqual([]);
    });

    test('a click by someone else is answered only to them; the buttons stay', async () => {
      const code = await confirmation(alice);
      const click = fake.click(bob, `virtbot:confirm:${code}`);
      const [response] = await fake.waitForResponses(click);
      expect(response).toMatchObject({
        kind: 'callback',
        type: 4,
        body: { content: `code ${code} belongs to someone else`, flags: 64 },
      });
      expect(fake.button(`virtbot:confirm:${code}`)?.disabled).toBe(false);
    });

    test('the buttons are disabled when the code lapses', async () => {
      const code = await confirmation(carol);
      await waitForEvent<[string]>(bot, 'buttonsDisabled', 6000, (c) => c === code);
      expect(fake.button(`virtbot:confirm:${code}`)?.disabled).toBe(true);
    }, 10_000);

    test('an approval has Approve/Deny buttons; approving keeps Confirm for the requester', async () => {
      const from = fake.requests.length;
      fake.say(alice, '!needs approval');
      await fake.waitForRequest(
        (r) => r.method === 'POST' && JSON.stringify(r.body).includes('APPR1'),
        5000,
        from,
      );
      expect(fake.button('virtbot:approve:APPR1')).toEqual({ disabled: false, label: 'Approve' });
      expect(fake.button('virtbot:deny:APPR1')).toEqual({ disabled: false, label: 'Deny' });
      const click = fake.click(carol, 'virtbot:approve:APPR1');
      await fake.waitForResponses(click, 2);
      expect(fake.button('virtbot:approve:APPR1')?.disabled).toBe(true);
      expect(fake.button('virtbot:deny:APPR1')?.disabled).toBe(true);
      expect(fake.button('virtbot:confirm:APPR1')?.disabled).toBe(false);
    });
  });

  test('long output: one budget, the summary in the channel with a deliberate mention, the rest by DM', async () => {
    const from = fake.requests.length;
    fake.say(alice, '!vm list');
    const dms = () =>
      fake.requests.slice(from).filter((r) => r.path === `/channels/${fake.dmChannel(alice.id)}/messages`);
    await fake.waitForRequest(() => dms().length >= 2, 5000, from);
    const [inChannel, ...more] = channelPosts(from);
    expect(more).toEqual([]);
    const body = inChannel!.body as { content: string; allowed_mentions: unknown };
    // The summary stays; the 200 detail lines go privately.
    expect(body.content).toBe(`VMs on test: 200\n<@${alice.id}> (200 more lines sent to you privately)`);
    expect(body.allowed_mentions).toEqual({ parse: [], users: [alice.id] });
    const dm = dms();
    // 2800 characters: two DMs (over maxMessages, it would be a file).
    const lines = dm.flatMap((r) => (r.body as { content: string }).content.split('\n'));
    expect(lines).toEqual(Array.from({ length: 200 }, (_, i) => `vm${i} running`));
  });

  test('the 3-second window: a slow command is deferred ephemerally in time, then answered', async () => {
    let release!: () => void;
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const token = fake.slash(alice, ['help'], { topic: 'slow' });
    const [deferred] = await fake.waitForResponses(token);
    expect(deferred).toMatchObject({ kind: 'callback', type: 5, body: { flags: 64 } });
    release();
    const responses = await fake.waitForResponses(token, 3);
    // Public answer: the private "thinking…" goes, the answer comes in the open.
    expect(responses.map((r) => r.kind)).toEqual(['callback', 'delete', 'followup']);
    expect(responses[2]!.body).toMatchObject({ content: 'slow result' });
    expect(responses[2]!.body['flags'] ?? 0).toBe(0);

    gate = new Promise((resolve) => {
      release = resolve;
    });
    const privately = fake.slash(alice, ['help'], { topic: 'slow-private' });
    await fake.waitForResponses(privately);
    release();
    const answered = await fake.waitForResponses(privately, 2);
    expect(answered[1]).toMatchObject({ kind: 'edit', body: { content: 'slow and private' } });
  });

  test('a denied mention command is not lost when the sender’s DMs are closed', async () => {
    fake.dmsClosed.add(bob.id);
    try {
      const from = fake.requests.length;
      fake.say(bob, 'vm destroy web01', { mentionBot: true });
      const note = await fake.waitForRequest(
        (r) => r.method === 'POST' && r.path === `/channels/${ops.id}/messages` && r.status === 200,
        5000,
        from,
      );
      const body = note.body as { content: string; allowed_mentions: unknown };
      expect(body.content).toBe(
        `<@${bob.id}> I could not send you a direct message (your DMs are closed to me): denied: bob lacks the ops role`,
      );
      expect(body.allowed_mentions).toEqual({ parse: [], users: [bob.id] });
    } finally {
      fake.dmsClosed.delete(bob.id);
    }
  });

  describe('autocomplete', () => {
    test('the handler gets the place, sender, path, argument, prefix and the other options; the answer fits Discord', async () => {
      const token = fake.slash(alice, ['vm', 'start'], { vm: 'web', host: 'lab2' }, { focused: 'vm' });
      const [response] = await fake.waitForResponses(token);
      expect(response).toMatchObject({ type: 8 });
      const request = completions.at(-1)!;
      expect(request).toMatchObject({
        path: ['vm', 'start'],
        arg: 'vm',
        prefix: 'web',
        options: { host: 'lab2' },
        place: { channel: ops.id, label: 'ops' },
        sender: { userId: alice.id },
      });
      const choices = response!.body['choices'] as Array<{ name: string; value: string }>;
      expect(choices).toHaveLength(25);
      for (const c of choices) {
        expect(c.name.length).toBeGreaterThan(0);
        expect(c.name.length).toBeLessThanOrEqual(100);
        expect(c.value.length).toBeLessThanOrEqual(100);
      }
      expect(choices[0]).toEqual({ name: `${'x'.repeat(99)}…`, value: 'long-name' });
      expect(choices.some((c) => c.value.startsWith('vvv'))).toBe(false);
    });

    test('templates and new names are asked too (the handler decides); a handler that does not answer gets an empty answer in time', async () => {
      const token = fake.slash(
        alice,
        ['vm', 'create'],
        { name: 'n', template: 'deb' },
        { focused: 'template' },
      );
      await fake.waitForResponses(token);
      expect(completions.at(-1)).toMatchObject({
        path: ['vm', 'create'],
        arg: 'template',
        prefix: 'deb',
        options: { name: 'n' },
      });
      const slow = fake.slash(alice, ['vm', 'start'], { vm: 'slow' }, { focused: 'vm' });
      const [response] = await fake.waitForResponses(slow, 1, 4000);
      expect(response).toMatchObject({ type: 8, body: { choices: [] } });
    });
  });

  describe('channels by name', () => {
    test('text and slash commands are served in listed channels only; the label is the name', async () => {
      const got = handled();
      fake.say(alice, '!vm start web01', { channelId: kimchi.id });
      expect((await got).place).toMatchObject({ channel: kimchi.id, label: 'kimchi-ops' });
      const before = seen.length;
      fake.say(alice, '!vm start web02', { channelId: elsewhere.id });
      const token = fake.slash(alice, ['help'], {}, { channelId: elsewhere.id });
      const [response] = await fake.waitForResponses(token);
      expect(response!.body).toMatchObject({
        flags: 64,
        content: expect.stringMatching(/does not work in this channel/),
      });
      const marker = handled();
      const posted = fake.requests.length;
      fake.say(alice, '!marker');
      await marker;
      await fake.waitForRequest((r) => JSON.stringify(r.body).includes('ok: marker'), 5000, posted);
      expect(seen.slice(before).map((m) => m.text)).toEqual(['marker']);
    });
  });

  test('unknown !words stay quiet in a channel; a card is an embed; topics are set where permitted and reported', async () => {
    const from = fake.requests.length;
    fake.say(alice, '!seen bob');
    fake.say(alice, '!vm info web01');
    await fake.waitForRequest(
      (r) => r.method === 'POST' && JSON.stringify(r.body).includes('embeds'),
      5000,
      from,
    );
    const posts = channelPosts(from);
    expect(posts.map((p) => (p.body as { content: string }).content)).toEqual(['web01 on test: running']);
    const body = posts[0]!.body as { content: string; embeds: Array<{ title: string; fields: unknown[] }> };
    expect(body.content).toBe('web01 on test: running');
    expect(body.embeds).toEqual([
      {
        title: 'web01 \\*\\*x\\*\\*',
        fields: [
          { name: 'state', value: 'running', inline: true },
          { name: 'vcpus', value: '2', inline: true },
        ],
      },
    ]);

    const token = fake.slash(alice, ['help'], { topic: 'topic' });
    await fake.waitForResponses(token);
    const patch = await fake.waitForRequest(
      (r) => r.method === 'PATCH' && r.path === `/channels/${ops.id}`,
      5000,
      from,
    );
    expect((patch.body as { topic: string }).topic).toBe('Sprint 12 @everyone');
    expect(patch.status).toBe(200);
    const reported = waitForEvent<[ChatEvent]>(bot, 'chat', 5000, (e) => e.type === 'topic');
    fake.setTopic(ops.id, 'set by a person');
    expect((await reported)[0]).toMatchObject({
      type: 'topic',
      topic: 'set by a person',
      place: { channel: ops.id, label: 'ops' },
    });
  });

  test('send(): posting outside a reply, with the sent event', async () => {
    const from = fake.requests.length;
    await bot.send({ transport: 'discord', network: 'testguild', channel: ops.id, private: false }, [
      { text: 'meeting reminder @here', kind: 'meeting' },
    ]);
    const [post] = channelPosts(from);
    expect(post!.body).toMatchObject({
      content: 'meeting reminder @\u200bhere',
      allowed_mentions: { parse: [] },
    });
    expect(events.at(-1)).toMatchObject({
      type: 'sent',
      text: 'meeting reminder @here',
      place: { channel: ops.id, label: 'ops' },
    });
  });

  test('a DM is addressed and private, with the roles the person has in the guild, and answered once', async () => {
    const got = handled();
    const from = fake.requests.length;
    fake.dm(alice, 'vm start web02');
    const msg = await got;
    expect(msg).toMatchObject({
      text: 'vm start web02',
      addressed: true,
      replyPrefix: '',
      place: { private: true, channel: alice.id },
    });
    expect(msg.sender.roleIds).toContain(OPS_ROLE);
    await fake.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${fake.dmChannel(alice.id)}/messages`,
      5000,
      from,
    );
    expect(fake.sessions).toBe(1);
  });

  test('a gateway disconnect is resumed, and commands keep working', async () => {
    const resumed = waitForEvent(bot, 'resumed', 10_000);
    fake.dropGateway();
    await resumed;
    const got = handled();
    fake.say(alice, 'vm start web03', { mentionBot: true });
    expect(await got).toMatchObject({ text: 'vm start web03' });
  }, 15_000);
});

describe('Discord: what cannot be retried, and tokens', () => {
  const handler = async (msg: InboundMessage): Promise<Reply[]> =>
    msg.addressed ? [{ text: 'ok', kind: 'reply' }] : [];
  const server = (fake: FakeDiscord, extra: Record<string, unknown> = {}) =>
    DiscordServerSchema.parse({
      name: 'x',
      token: { value: 'fake-token', insecure: true },
      guildId: fake.guildId,
      api: fake.api,
      ...extra,
    });

  test('a wrong token: start() says so, and does not retry', async () => {
    const fake = new FakeDiscord({ token: 'the-real-one' });
    await fake.start();
    const bot = new DiscordTransport(server(fake), handler, [], {
      retry: { minDelayMs: 10, maxDelayMs: 20 },
    });
    try {
      await expect(bot.start()).rejects.toThrow(/Discord refused the bot token \(401, .*not retrying/);
      expect(bot.fatal).toMatch(/refused the bot token/);
    } finally {
      await bot.stop();
      await fake.stop();
    }
  });

  test('4004 while running (token reset): the connection stops with an explanation', async () => {
    const fake = new FakeDiscord();
    await fake.start();
    const bot = new DiscordTransport(server(fake, { slashCommands: false }), handler, []);
    try {
      await bot.start();
      const fatal = waitForEvent<[string]>(bot, 'fatal', 5000);
      fake.token = 'reset-in-the-portal';
      fake.closeGateway(4004, 'Authentication failed.');
      expect((await fatal)[0]).toMatch(/Discord refused the bot token \(close 4004, .*reload \(SIGHUP\)/);
      expect(bot.connected).toBe(false);
    } finally {
      await bot.stop();
      await fake.stop();
    }
  });

  test('4014: the Message Content intent is not enabled; the log says what to do, once', async () => {
    const fake = new FakeDiscord({ messageContentAllowed: false });
    await fake.start();
    const bot = new DiscordTransport(server(fake, { messageContent: true }), handler, [], {
      retry: { minDelayMs: 10, maxDelayMs: 20 },
    });
    try {
      await expect(bot.start()).rejects.toThrow(
        /enable "Message Content Intent" .* or set messageContent: false for x; not retrying/,
      );
      expect(fake.identifies).toBe(1);
    } finally {
      await bot.stop();
      await fake.stop();
    }
  });

  test('without the intent, places say the bot does not hear chatter, and prompts say to mention it', async () => {
    const fake = new FakeDiscord({ messageContentAllowed: false });
    await fake.start();
    const seen: InboundMessage[] = [];
    const bot = new DiscordTransport(
      server(fake, { messageContent: false }),
      async (m) => {
        seen.push(m);
        return [];
      },
      specs,
    );
    try {
      await bot.start();
      const got = waitForEvent<[InboundMessage]>(bot, 'handled', 5000);
      fake.slash(alice, ['meeting', 'start'], { topic: 'planning' });
      expect((await got)[0]).toMatchObject({
        text: '#startmeeting planning',
        addressed: false,
        place: { hearsChatter: false },
        replyPrefix: '@virtbot ',
      });
    } finally {
      await bot.stop();
      await fake.stop();
    }
  });

  test('one token for two servers is a configuration error, however it is given', async () => {
    const base = { hosts: [{ name: 'test', uri: 'test:///default' }] };
    const guild = (name: string, token: unknown) => ({ name, token, guildId: '112233445566778899' });
    expect(() =>
      validateConfig({ ...base, discord: [guild('a', { env: 'VB_T' }), guild('b', { env: 'VB_T' })] }),
    ).toThrow(/the same token as Discord server 'a'/);
    process.env['VB_T1'] = 'same-token';
    process.env['VB_T2'] = 'same-token';
    try {
      const config = validateConfig({
        ...base,
        discord: [guild('a', { env: 'VB_T1' }), guild('b', { env: 'VB_T2' })],
      });
      await expect(checkDiscordTokens(config)).rejects.toThrow(ConfigError);
      await expect(checkDiscordTokens(config)).rejects.toThrow(/'a' and 'b' use the same bot token/);
    } finally {
      delete process.env['VB_T1'];
      delete process.env['VB_T2'];
    }
  });

  test('deferAfterMs 2500 plus network latency still meets the 3-second window (capped, counted from the interaction)', async () => {
    const fake = new FakeDiscord({ callbackLatencyMs: 800 });
    await fake.start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const bot = new DiscordTransport(
      server(fake, { deferAfterMs: 2500 }),
      async () => {
        await gate;
        return [{ text: 'done', kind: 'reply' }];
      },
      specs,
    );
    try {
      await bot.start();
      const token = fake.slash(alice, ['help'], { topic: 'x' });
      const [deferred] = await fake.waitForResponses(token, 1, 5000);
      expect(deferred).toMatchObject({ kind: 'callback', type: 5 });
      release();
      await fake.waitForResponses(token, 3, 5000);
      expect(fake.requests.filter((r) => r.error?.code === 10062)).toEqual([]);
    } finally {
      release();
      await bot.stop();
      await fake.stop();
    }
  }, 15_000);
});
