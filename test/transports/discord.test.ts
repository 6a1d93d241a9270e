/**
 * The Discord transport with the real discord.js client against the fake gateway + REST server:
 * slash registration (and no re-registration when unchanged), a slash command with options,
 * autocomplete, a mention command, a DM, prefix commands and meeting lines, a button
 * confirmation, a denial by role (ephemeral), long replies (split / file), deferReply for slow
 * commands, and a gateway disconnect that is resumed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CommandSpec } from '../../src/command/spec.js';
import { DiscordServerSchema } from '../../src/config/sections/transports.js';
import type { InboundMessage, Reply } from '../../src/core/types.js';
import { DiscordTransport } from '../../src/transports/discord.js';
import { FakeDiscord, type FakeUser } from '../harness/fake-discord.js';
import { waitForEvent } from '../harness/util.js';

const OPS_ROLE = '200000000000000001';
const alice: FakeUser = { id: '300000000000000001', username: 'alice' };
const bob: FakeUser = { id: '300000000000000002', username: 'bob' };

const run = async () => ({ reply: '' });
const specs: CommandSpec[] = [
  { path: ['vm', 'list'], summary: 'List VMs', args: [], examples: [], run },
  {
    path: ['vm', 'start'],
    summary: 'Start a VM',
    args: [{ name: 'vm', type: 'vm', positional: true, required: true, help: 'VM name' }],
    examples: [],
    run,
  },
  {
    path: ['vm', 'destroy'],
    summary: 'Destroy a VM',
    destructive: true,
    args: [{ name: 'vm', type: 'vm', positional: true, required: true, help: 'VM name' }],
    examples: [],
    run,
  },
  {
    path: ['vm', 'nic', 'add'],
    summary: 'Add a network interface',
    args: [
      { name: 'vm', type: 'vm', positional: true, required: true, help: 'VM name' },
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
];

describe('Discord transport (real discord.js, fake gateway + REST)', () => {
  const fake = new FakeDiscord({
    roles: [{ id: OPS_ROLE, name: 'ops' }],
    members: [
      { user: alice, roles: [OPS_ROLE] },
      { user: bob, roles: [] },
    ],
  });
  const seen: InboundMessage[] = [];
  let gate: Promise<void> = Promise.resolve();
  let bot: DiscordTransport;

  /** Stand-in for the pipeline: role-based allow/deny, a confirmation, long and slow output. */
  async function handler(msg: InboundMessage): Promise<Reply[]> {
    seen.push(msg);
    if (!msg.addressed) return [];
    const [verb, ...rest] = msg.text.split(' ');
    const needsOps = msg.text.startsWith('vm destroy') || msg.text.startsWith('vm nic');
    if (needsOps && !msg.sender.roleIds?.includes(OPS_ROLE)) {
      return [{ text: `denied: ${msg.sender.nick} lacks the ops role`, kind: 'error', private: true }];
    }
    if (msg.text.startsWith('vm destroy')) {
      return [
        {
          text: `Destroy ${rest[1]}? Confirm with code K7Q2`,
          kind: 'confirm',
          confirmCode: 'K7Q2',
          private: true,
        },
      ];
    }
    if (verb === 'confirm') return [{ text: `confirmed ${rest[0]}: destroyed web01`, kind: 'reply' }];
    if (msg.text === 'vm list') {
      return [
        {
          text: Array.from({ length: 200 }, (_, i) => `vm${i} running 2 vCPU 4 GiB`).join('\n'),
          kind: 'reply',
        },
      ];
    }
    if (msg.text === 'vm list --all') {
      return [
        {
          text: Array.from({ length: 400 }, (_, i) => `vm${i} running 2 vCPU 4 GiB`).join('\n'),
          kind: 'reply',
        },
      ];
    }
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
      ...extra,
    });
  }

  beforeAll(async () => {
    await fake.start();
    bot = new DiscordTransport(config(), handler, specs, {
      complete: async (type, prefix) =>
        type === 'vm' ? ['web01', 'web02', 'db01'].filter((n) => n.startsWith(prefix)) : [],
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

  test('slash commands are registered per guild, with groups, choices and autocomplete; unchanged ones are not re-sent', async () => {
    expect(fake.commandPuts).toBe(1);
    const commands = fake.guildCommands.get(fake.guildId)!;
    expect(commands.map((c) => c['name']).sort()).toEqual(['help', 'meeting', 'vm']);
    const vm = commands.find((c) => c['name'] === 'vm') as { options: Array<Record<string, unknown>> };
    const nic = vm.options.find((o) => o['name'] === 'nic') as {
      type: number;
      options: Array<{ name: string; options: Array<Record<string, unknown>> }>;
    };
    expect(nic.type).toBe(2);
    const add = nic.options.find((o) => o.name === 'add')!;
    expect(add.options.map((o) => o['name'])).toEqual(['vm', 'network', 'model', 'note']);
    expect(add.options[0]).toMatchObject({ type: 3, required: true, autocomplete: true });
    expect(add.options[2]).toMatchObject({
      choices: [
        { name: 'virtio', value: 'virtio' },
        { name: 'e1000', value: 'e1000' },
      ],
    });

    // Restarted with the same declarations: compared with what is registered, and not PUT again.
    await bot.stop();
    const synced = waitForEvent<[boolean]>(bot, 'synced', 10_000);
    await bot.start();
    expect(await synced).toEqual([false]);
    expect(fake.commandPuts).toBe(1);
    // Changed declarations are PUT; changing back is PUT again.
    const more = [...specs, { path: ['host', 'list'], summary: 'List hosts', args: [], examples: [], run }];
    expect(await bot.updateCommands(more)).toBe(true);
    expect(fake.commandPuts).toBe(2);
    expect(fake.guildCommands.get(fake.guildId)!.map((c) => c['name'])).toContain('host');
    expect(await bot.updateCommands(specs)).toBe(true);
    expect(await bot.updateCommands(specs)).toBe(false);
    expect(fake.commandPuts).toBe(3);
  }, 20_000);

  test('a slash command with options becomes the command line, with the user id and guild roles', async () => {
    const got = handled();
    const token = fake.slash(alice, ['vm', 'nic', 'add'], {
      vm: 'web01',
      network: 'default',
      note: 'for the new VLAN',
    });
    const msg = await got;
    expect(msg).toMatchObject({
      text: 'vm nic add web01 network=default note="for the new VLAN"',
      addressed: true,
      place: { transport: 'discord', network: 'testguild', channel: fake.channels[0]!.id, private: false },
      sender: { userId: alice.id },
    });
    expect(msg.sender.roleIds).toEqual(expect.arrayContaining([OPS_ROLE, fake.guildId]));
    const [response] = await fake.waitForResponses(token);
    expect(response).toMatchObject({ kind: 'callback', type: 4 });
    expect(response!.body['content']).toBe('ok: vm nic add web01 network=default note="for the new VLAN"');
    expect(response!.body['flags'] ?? 0).toBe(0);
  });

  test('autocomplete offers VM names', async () => {
    const token = fake.slash(alice, ['vm', 'start'], { vm: 'web' }, { focused: 'vm' });
    const [response] = await fake.waitForResponses(token);
    expect(response).toMatchObject({
      type: 8,
      body: {
        choices: [
          { name: 'web01', value: 'web01' },
          { name: 'web02', value: 'web02' },
        ],
      },
    });
  });

  test('a command addressed by mention, and a prefix command with Message Content', async () => {
    let got = handled();
    const from = fake.requests.length;
    fake.say(alice, 'vm start web01', { mentionBot: true });
    expect(await got).toMatchObject({
      text: 'vm start web01',
      addressed: true,
      sender: { userId: alice.id },
    });
    const post = await fake.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${fake.channels[0]!.id}/messages`,
      5000,
      from,
    );
    expect((post.body as { content: string }).content).toBe('ok: vm start web01');

    got = handled();
    fake.say(bob, '!help vm');
    expect(await got).toMatchObject({
      text: 'help vm',
      addressed: true,
      sender: { userId: bob.id, roleIds: [fake.guildId] },
    });
  });

  test('meeting lines: channel text unaddressed, and /meeting slash commands as meeting lines', async () => {
    let got = handled();
    fake.say(bob, '#info the backup window moves to Sunday');
    expect(await got).toMatchObject({ text: '#info the backup window moves to Sunday', addressed: false });

    got = handled();
    const token = fake.slash(alice, ['meeting', 'topic'], { text: 'Budget 2025' });
    expect(await got).toMatchObject({
      text: '#topic Budget 2025',
      addressed: false,
      place: { channel: fake.channels[0]!.id },
    });
    const [response] = await fake.waitForResponses(token);
    expect(response!.body['content']).toBe('**alice**: #topic Budget 2025');
  });

  test('a DM is addressed and private, with the roles the person has in the guild', async () => {
    const got = handled();
    const from = fake.requests.length;
    fake.dm(alice, 'vm start web02');
    const msg = await got;
    expect(msg).toMatchObject({
      text: 'vm start web02',
      addressed: true,
      place: { private: true, channel: alice.id },
    });
    expect(msg.sender.roleIds).toContain(OPS_ROLE);
    await fake.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${fake.dmChannel(alice.id)}/messages`,
      5000,
      from,
    );
  });

  test('denial by role is ephemeral', async () => {
    const token = fake.slash(bob, ['vm', 'destroy'], { vm: 'web01' });
    const [response] = await fake.waitForResponses(token);
    expect(response).toMatchObject({ kind: 'callback', type: 4 });
    expect(response!.body['content']).toBe('denied: bob lacks the ops role');
    expect(response!.body['flags']).toBe(64);
  });

  test('a confirmation with buttons: the click sends "confirm CODE" as the same user', async () => {
    const token = fake.slash(alice, ['vm', 'destroy'], { vm: 'web01' });
    const [response] = await fake.waitForResponses(token);
    expect(response!.body['flags']).toBe(64);
    expect(JSON.stringify(response!.body['components'])).toContain('virtbot:confirm:K7Q2');
    expect(JSON.stringify(response!.body['components'])).toContain('virtbot:cancel:K7Q2');

    const got = handled();
    const click = fake.click(alice, 'virtbot:confirm:K7Q2');
    expect(await got).toMatchObject({ text: 'confirm K7Q2', addressed: true, sender: { userId: alice.id } });
    const responses = await fake.waitForResponses(click, 2);
    expect(responses[0]!.body['content']).toBe('confirmed K7Q2: destroyed web01');
    // The buttons are taken off the confirmation message.
    expect(responses[1]).toMatchObject({ kind: 'edit', body: { components: [] } });
  });

  test('long replies are split under 2000 characters, very long ones attached as a file', async () => {
    let from = fake.requests.length;
    fake.say(alice, '!vm list');
    const channelPosts = () =>
      fake.requests
        .slice(from)
        .filter((r) => r.method === 'POST' && r.path === `/channels/${fake.channels[0]!.id}/messages`);
    await fake.waitForRequest(() => channelPosts().length >= 3, 5000, from);
    const parts = channelPosts().map((r) => (r.body as { content: string }).content);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(2000);
    expect(parts.join('\n').split('\n')).toHaveLength(200);

    from = fake.requests.length;
    fake.say(alice, '!vm list --all');
    const post = await fake.waitForRequest((r) => r.method === 'POST' && r.files.length > 0, 5000, from);
    expect((post.body as { content: string }).content).toMatch(/399 more lines in the attached file/);
    expect(post.files[0]!.name).toBe('output.txt');
    expect(post.files[0]!.content.split('\n')).toHaveLength(400);
  });

  test('a slow command is deferred, then the reply is edited in', async () => {
    let release!: () => void;
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const token = fake.slash(alice, ['help'], { topic: 'slow' });
    const [deferred] = await fake.waitForResponses(token);
    expect(deferred).toMatchObject({ kind: 'callback', type: 5 });
    release();
    const responses = await fake.waitForResponses(token, 2);
    expect(responses[1]).toMatchObject({ kind: 'edit', body: { content: 'slow result' } });
  });

  test('a slow command whose answer is private: the public "thinking…" is deleted, the answer is ephemeral', async () => {
    let release!: () => void;
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const token = fake.slash(alice, ['help'], { topic: 'slow-private' });
    await fake.waitForResponses(token);
    release();
    const responses = await fake.waitForResponses(token, 3);
    expect(responses.map((r) => r.kind)).toEqual(['callback', 'delete', 'followup']);
    expect(responses[2]!.body).toMatchObject({ content: 'slow and private', flags: 64 });
  });

  test('a private reply to a text command in a channel goes to a DM', async () => {
    const from = fake.requests.length;
    fake.say(bob, 'vm destroy web01', { mentionBot: true });
    const dm = await fake.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${fake.dmChannel(bob.id)}/messages`,
      5000,
      from,
    );
    expect((dm.body as { content: string }).content).toBe('denied: bob lacks the ops role');
    const inChannel = fake.requests
      .slice(from)
      .filter((r) => r.method === 'POST' && r.path === `/channels/${fake.channels[0]!.id}/messages`);
    expect(inChannel).toEqual([]);
  });

  test('a gateway disconnect is resumed, and commands keep working', async () => {
    const resumed = waitForEvent(bot, 'resumed', 10_000);
    fake.dropGateway();
    await resumed;
    expect(fake.resumes).toBe(1);
    expect(fake.identifies).toBe(2); // start, and the restart in the registration test
    const got = handled();
    fake.say(alice, 'vm start web03', { mentionBot: true });
    expect(await got).toMatchObject({ text: 'vm start web03' });
  }, 15_000);
});
