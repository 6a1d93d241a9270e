import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Identity, InboundMessage, Reply } from '../../src/core/types.js';
import { MeetingManager, type MeetingManagerOptions } from '../../src/meeting/manager.js';

export const PLACE = { transport: 'irc', network: 'libera', channel: '#virt', private: false };
export const PLACE_KEY = 'irc:libera:#virt';
/** The identity the pipeline resolves for someone who proves nothing. */
export const ANONYMOUS = (nick: string): Identity => ({
  user: null,
  groups: [],
  roles: [],
  proof: 'anonymous',
  nick,
});

export const T0 = Date.UTC(2024, 0, 15, 10, 0, 0); // Mon Jan 15 10:00:00 2024 UTC

export interface Harness {
  dir: string;
  dataDir: string;
  minutesDir: string;
  manager: MeetingManager;
  /** Says a line in #virt one second after the previous one; returns the replies. */
  say(nick: string, text: string, opts?: { action?: boolean; private?: boolean }): Promise<Reply[]>;
  /** Reply texts only. */
  texts(nick: string, text: string, opts?: { action?: boolean; private?: boolean }): Promise<string[]>;
  handled(nick: string, text: string): Promise<boolean>;
  now(): number;
  /** A new manager on the same directories (a restart). */
  restart(): MeetingManager;
  read(path: string): string;
}

export function harness(extra: Partial<MeetingManagerOptions> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'virtbot-meeting-'));
  const dataDir = join(dir, 'data');
  const minutesDir = join(dir, 'minutes');
  let t = T0;
  const opts: MeetingManagerOptions = {
    dataDir,
    minutesDir,
    botNick: 'virtbot',
    minutesUrl: 'https://meetings.example.org',
    fsync: false,
    ...extra,
  };
  const h: Harness = {
    dir,
    dataDir,
    minutesDir,
    manager: new MeetingManager(opts),
    async say(nick, text, o = {}) {
      t += 1000;
      const msg: InboundMessage = {
        place: o.private ? { ...PLACE, channel: nick, private: true } : PLACE,
        sender: { nick },
        text,
        time: new Date(t),
        addressed: false,
        ...(o.action ? { action: true } : {}),
      };
      const r = await h.manager.observe(msg, ANONYMOUS(nick));
      // As a transport does: what the bot says in the channel comes back as `sent` events.
      if (!o.private) {
        for (const reply of r.replies) {
          if (!reply.private)
            h.manager.onEvent({ type: 'sent', place: PLACE, text: reply.text, time: new Date(t) });
        }
      }
      return r.replies;
    },
    async texts(nick, text, o = {}) {
      return (await h.say(nick, text, o)).map((r) => r.text);
    },
    async handled(nick, text) {
      t += 1000;
      const r = await h.manager.observe(
        { place: PLACE, sender: { nick }, text, time: new Date(t), addressed: false },
        ANONYMOUS(nick),
      );
      return r.handled;
    },
    now: () => t,
    restart() {
      h.manager = new MeetingManager(opts);
      return h.manager;
    },
    read: (path) => readFileSync(path, 'utf8'),
  };
  return h;
}

/**
 * The minutes files (without extension) of a meeting written under minutesDir/virt/2024: the one
 * named `name`, or the only one there.
 */
export function minutesBase(h: Harness, name?: string): string {
  const dir = join(h.minutesDir, 'virt', '2024');
  if (name !== undefined) return join(dir, `${name}.2024-01-15-10.00`);
  const bases = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length));
  if (bases.length !== 1)
    throw new Error(`expected one meeting in ${dir}, found ${bases.join(', ') || 'none'}`);
  return join(dir, bases[0]!);
}
