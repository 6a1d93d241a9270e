/**
 * The renderer for the transport a transcript models. This is the one place to switch to the
 * transports' own renderers once they exist as plain functions: return an adapter from theirs
 * to `SeenLine[]` here, and the runner, the expectations and the reports stay as they are.
 */
import type { Config } from '../../config/schema.js';
import { renderPlain } from './console.js';
import { type DiscordRenderOptions, discordRenderer } from './discord.js';
import { type IrcRenderOptions, ircRenderer } from './irc.js';
import type { Renderer } from './types.js';

export type TransportName = 'transcript' | 'console' | 'irc' | 'discord';
export const TRANSPORTS: readonly TransportName[] = ['transcript', 'console', 'irc', 'discord'];

export interface RenderOptions {
  irc?: Omit<IrcRenderOptions, 'botNick'>;
  discord?: DiscordRenderOptions;
}

/**
 * The output settings of the configured network or server the transcript's place is on (by
 * name, else the first one), so that a transcript on a real config sees what its people would.
 */
export function renderOptionsOf(config: Config, network: string): RenderOptions {
  const options: RenderOptions = {};
  const irc = config.irc.find((n) => n.name === network) ?? config.irc[0];
  if (irc) {
    options.irc = { maxChannelLines: irc.maxChannelLines, privateAs: irc.privateAs };
    if (irc.username !== undefined) options.irc.username = irc.username;
  }
  const discord = config.discord.find((s) => s.name === network) ?? config.discord[0];
  if (discord) options.discord = { maxMessages: discord.maxMessages };
  return options;
}

export function rendererFor(
  transport: TransportName,
  botNick: string,
  options: RenderOptions = {},
): Renderer {
  switch (transport) {
    case 'irc':
      return ircRenderer({ botNick, ...options.irc });
    case 'discord':
      return discordRenderer(options.discord);
    default:
      return renderPlain;
  }
}

export type { Delivery, Renderer, RenderInput, SeenLine } from './types.js';
