/**
 * Local typings for irc-framework 4.x (the package ships none). Only what virtbot uses.
 */
declare module 'irc-framework' {
  import { EventEmitter } from 'node:events';

  export interface IrcClientOptions {
    host: string;
    port: number;
    nick: string;
    username?: string;
    gecos?: string;
    password?: string;
    tls?: boolean;
    rejectUnauthorized?: boolean;
    encoding?: string;
    version?: string | null;
    auto_reconnect?: boolean;
    auto_reconnect_max_wait?: number;
    auto_reconnect_max_retries?: number;
    ping_interval?: number;
    ping_timeout?: number;
    message_max_length?: number;
    sasl_disconnect_on_fail?: boolean;
    account?: { account: string; password: string };
    outgoing_addr?: string;
  }

  export interface MessageTags {
    [tag: string]: string | undefined;
  }

  /** PRIVMSG / NOTICE / ACTION events. */
  export interface MessageEvent {
    from_server: boolean;
    nick: string;
    ident: string;
    hostname: string;
    target: string;
    group?: string;
    message: string;
    tags: MessageTags;
    time?: number;
    /** From the account-tag, when the server attached one. */
    account?: string;
    batch?: unknown;
  }

  export interface JoinEvent {
    nick: string;
    ident: string;
    hostname: string;
    channel: string;
    gecos: string;
    /** With extended-join: the account name, or false when not logged in. */
    account?: string | false;
    tags: MessageTags;
  }

  export interface PartEvent {
    nick: string;
    ident: string;
    hostname: string;
    channel: string;
    message: string;
  }

  export interface KickEvent extends PartEvent {
    kicked: string;
  }

  export interface QuitEvent {
    nick: string;
    ident: string;
    hostname: string;
    message: string;
  }

  export interface NickEvent {
    nick: string;
    ident: string;
    hostname: string;
    new_nick: string;
  }

  export interface AccountEvent {
    nick: string;
    ident?: string;
    hostname?: string;
    /** The new account, or false on logout. */
    account: string | false;
  }

  export interface WhoUser {
    nick: string;
    ident: string;
    hostname: string;
    /** WHOX: '' when not logged in. */
    account?: string;
    channel?: string;
  }

  export interface WhoListEvent {
    target: string;
    users: WhoUser[];
  }

  export interface UserListEvent {
    channel: string;
    users: Array<{ nick: string; ident: string; hostname: string; modes: string[] }>;
  }

  export interface RegisteredEvent {
    nick: string;
  }

  export interface SaslFailedEvent {
    reason: string;
    message?: string;
  }

  export interface NetworkCaps {
    isEnabled(cap: string): boolean;
    enabled: string[];
  }

  export interface NetworkInfo {
    cap: NetworkCaps;
    supports(feature: string): unknown;
  }

  export interface ClientUser {
    nick: string;
    username: string;
    host: string;
  }

  export class Client extends EventEmitter {
    constructor(options?: Partial<IrcClientOptions>);
    user: ClientUser;
    network: NetworkInfo;
    connected: boolean;
    connect(options?: IrcClientOptions): void;
    raw(...args: string[]): void;
    say(target: string, message: string): void;
    notice(target: string, message: string): void;
    join(channel: string, key?: string): void;
    part(channel: string, message?: string): void;
    quit(message?: string): void;
    changeNick(nick: string): void;
    who(target: string, cb?: (event: WhoListEvent) => void): void;
    whois(nick: string, cb?: (event: Record<string, unknown>) => void): void;
    addMonitor(target: string): void;
    removeMonitor(target: string): void;
    ctcpResponse(target: string, type: string, ...params: string[]): void;
    caseLower(text: string): string;
    caseCompare(a: string, b: string): boolean;
    requestCap(cap: string | string[]): void;
    connection: { connected: boolean; end(message?: string, force?: boolean): void };
  }

  const IRC: { Client: typeof Client };
  export default IRC;
}
