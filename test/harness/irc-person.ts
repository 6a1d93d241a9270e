/**
 * A person on IRC for tests and benchmarks: a plain irc-framework client that records what it
 * receives and can wait for it (with timeouts, no sleeps). Optionally logs in with SASL or
 * registers a services account with NickServ on connect.
 */
import { EventEmitter } from 'node:events';
import IRC, { type Client, type MessageEvent } from 'irc-framework';
import { waitForEvent, withTimeout } from './util.js';

export interface Received {
  command: 'PRIVMSG' | 'NOTICE';
  from: string;
  target: string;
  text: string;
  /** Bytes of the whole line as the server sent it (without CR LF and IRCv3 tags). */
  bytes: number;
  at: number;
}

export interface PersonOptions {
  host: string;
  port: number;
  nick: string;
  /** Log in with SASL PLAIN. */
  sasl?: { account: string; password: string };
  /** Register the nick as a services account (NickServ REGISTER) right after connecting. */
  register?: { password: string; email?: string };
  timeoutMs?: number;
}

export class IrcPerson extends EventEmitter {
  readonly received: Received[] = [];
  account: string | undefined;
  private closed = false;

  private constructor(readonly client: Client) {
    super();
    client.on('raw', (e: { line: string; from_server: boolean }) => {
      if (!e.from_server) return;
      const line = (e.line.startsWith('@') ? e.line.slice(e.line.indexOf(' ') + 1) : e.line).replace(
        /\r?\n$/,
        '',
      );
      this.lastRawBytes = Buffer.byteLength(line, 'utf8');
    });
    const record = (command: Received['command']) => (m: MessageEvent) => {
      const r: Received = {
        command,
        from: m.nick,
        target: m.target,
        text: m.message,
        bytes: this.lastRawBytes,
        at: performance.now(),
      };
      this.received.push(r);
      this.emit('received', r);
    };
    client.on('privmsg', record('PRIVMSG'));
    client.on('notice', record('NOTICE'));
    client.on('loggedin', (e: { account: string }) => {
      this.account = e.account;
    });
    client.on('close', () => {
      this.closed = true;
    });
  }

  private lastRawBytes = 0;

  get nick(): string {
    return this.client.user.nick;
  }

  static async connect(options: PersonOptions): Promise<IrcPerson> {
    const ms = options.timeoutMs ?? 10_000;
    const client = new IRC.Client();
    const person = new IrcPerson(client);
    const registered = waitForEvent(client, 'registered', ms);
    client.connect({
      host: options.host,
      port: options.port,
      nick: options.nick,
      username: options.nick.replace(/[^A-Za-z0-9]/g, '').slice(0, 10) || 'person',
      gecos: 'test person',
      auto_reconnect: false,
      ...(options.sasl ? { account: options.sasl, sasl_disconnect_on_fail: true } : {}),
    });
    await registered;
    if (options.register) {
      const loggedIn = waitForEvent(client, 'loggedin', ms);
      client.say(
        'NickServ',
        `REGISTER ${options.register.password} ${options.register.email ?? 'test@example.test'}`,
      );
      await loggedIn;
    }
    return person;
  }

  say(target: string, text: string): void {
    this.client.say(target, text);
  }

  async join(channel: string, ms = 5000): Promise<void> {
    const joined = waitForEvent<[{ nick: string; channel: string }]>(
      this.client,
      'join',
      ms,
      (e) => e.channel.toLowerCase() === channel.toLowerCase() && e.nick === this.nick,
    );
    this.client.join(channel);
    await joined;
  }

  /** Changes nick and waits for the server to confirm. */
  async changeNick(nick: string, ms = 5000): Promise<void> {
    const changed = waitForEvent<[{ nick: string; new_nick: string }]>(
      this.client,
      'nick',
      ms,
      (e) => e.new_nick === nick,
    );
    this.client.changeNick(nick);
    await changed;
  }

  /** Waits for `count` received messages (counting from `from`) that match. */
  async waitFor(
    match: (r: Received) => boolean,
    { count = 1, ms = 5000, from = 0 }: { count?: number; ms?: number; from?: number } = {},
  ): Promise<Received[]> {
    const found = () => this.received.slice(from).filter(match);
    if (found().length >= count) return found().slice(0, count);
    let listener: (() => void) | undefined;
    await withTimeout(
      new Promise<void>((resolve) => {
        listener = () => {
          if (found().length >= count) resolve();
        };
        this.on('received', listener);
      }),
      ms,
      `${count} matching message(s) for ${this.nick} (have ${found().length})`,
    ).finally(() => {
      if (listener) this.off('received', listener);
    });
    return found().slice(0, count);
  }

  async quit(): Promise<void> {
    if (this.closed || !this.client.connected) return;
    const closed = waitForEvent(this.client, 'close', 3000).catch(() => undefined);
    this.client.quit('bye');
    await closed;
  }
}
