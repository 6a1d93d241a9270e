/**
 * What every chat transport is to the rest of virtbot: it turns what people say into
 * InboundMessages for the pipeline, and renders the pipeline's Replies.
 */
import type { ChatEvent, InboundMessage, Place, Reply, Sender } from '../core/types.js';

/** The pipeline: parses, authorizes, confirms, executes, records; returns what to say. */
export type MessageHandler = (msg: InboundMessage) => Promise<Reply[]>;

/** Autocomplete for VM and host names in Discord slash commands. */
export type Completer = (type: 'vm' | 'host', prefix: string) => Promise<string[]>;

/**
 * What a transport asks when a person is typing an argument (Discord autocomplete). The bot
 * answers with values this person may use here (permissions and the chosen host respected).
 */
export interface CompletionRequest {
  place: Place;
  sender: Sender;
  /** The declared command path the option belongs to. */
  path: readonly string[];
  /** The argument being completed (its declared name). */
  arg: string;
  /** What has been typed so far. */
  prefix: string;
  /** The other options already given, by argument name (e.g. host). */
  options: Record<string, string | number | boolean>;
}

export interface Completion {
  name: string;
  value: string;
}

export type CompletionHandler = (request: CompletionRequest) => Promise<Completion[]>;

export interface Transport {
  /** 'irc:NAME' / 'discord:NAME', for logs and status. */
  readonly name: string;
  /**
   * Connects. Resolves once connected; rejects when the first attempt fails (or a secret cannot
   * be read), and in the first case keeps retrying with backoff in the background until stop().
   */
  start(): Promise<void>;
  /** Disconnects and stops retrying. */
  stop(): Promise<void>;
  /**
   * Says something in a conversation of this transport that is not a reply to a line: events,
   * task completions, meeting notices. `place.network` names this transport's network/server.
   */
  send?(place: Place, replies: Reply[]): Promise<void>;
  /** Resolves once everything queued so far has been handed to the connection (IRC's flood-controlled queue). */
  flushed?(): Promise<void>;
}

/** Transport-level happenings the bot follows (nick changes, what was really sent). */
export type ChatEventHandler = (event: ChatEvent) => void;

/** The subset of a pino logger the transports use. */
export interface TransportLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: TransportLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Exponential backoff with ±20 % jitter: attempt 0 → min, doubling, capped at max. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}
