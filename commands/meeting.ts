/**
 * `meeting end CHANNEL`, `meeting list`: meetings seen from anywhere, for whoever holds the
 * permission (an admin ending a meeting whose chairs are gone). The meetings engine is the
 * `meetings` service (a MeetingManager); the notice for the meeting's channel is handed to the
 * bot by the manager's next `sweep()`.
 */
import { CommandError, type CommandGroup } from '../src/command/spec.js';
import type { MeetingManager } from '../src/meeting/manager.js';

function meetings(services: Record<string, unknown>): MeetingManager {
  const m = services['meetings'] as MeetingManager | undefined;
  if (!m || typeof m.endMeeting !== 'function') {
    throw new CommandError('no meeting is open here: the meetings engine is not running');
  }
  return m;
}

export const group: CommandGroup = {
  name: 'meeting',
  summary: 'meetings seen from anywhere: list them, end one whose chairs are gone',
  commands: [
    {
      path: ['meeting', 'end'],
      summary: 'end the meeting open in a channel and write its minutes, from anywhere',
      args: [
        {
          name: 'channel',
          type: 'text',
          positional: true,
          required: true,
          help: "the meeting's channel: '#kimchi', or NETWORK/#channel when several networks have one",
        },
      ],
      examples: [{ input: 'meeting end #nowhere', reply: 'no meeting' }],
      async run(ctx, args) {
        const target = String(args['channel'] ?? '').trim();
        const by = ctx.identity.user ?? ctx.identity.nick;
        const r = meetings(ctx.services).endMeeting(target, by);
        if (!r.ok) throw new CommandError(r.text, 'invalid');
        return { reply: r.text, detail: `ended the meeting in ${target}` };
      },
    },
    {
      path: ['meeting', 'list'],
      summary: 'list the meetings open now, where and since when',
      args: [],
      examples: [{ input: 'meeting list', reply: 'no meeting is open' }],
      async run(ctx) {
        const open = meetings(ctx.services).openMeetings();
        if (open.length === 0) return { reply: 'no meeting is open' };
        const lines = open.map(({ place, meeting }) => {
          const net = place.networkLabel ?? place.network;
          return `${net ? `${net}/` : ''}${meeting.channel}: started by ${meeting.ownerNick()} at ${new Date(meeting.startTime).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${meeting.lineCount} lines`;
        });
        return { reply: `${open.length} meeting${open.length === 1 ? '' : 's'} open`, lines };
      },
    },
  ],
};
