/**
 * The renderer for the transport a transcript models. This is the one place to switch to the
 * transports' own renderers once they exist as plain functions: return an adapter from theirs
 * to `SeenLine[]` here, and the runner, the expectations and the reports stay as they are.
 */
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
