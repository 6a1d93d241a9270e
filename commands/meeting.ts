/**
 * `meeting end CHANNEL`, `meeting list`: meetings seen from anywhere, for whoever holds the
 * permission (an admin ending a meeting whose chairs are gone). The notice for the meeting's
 * channel is posted by the bot from the meetings engine's next sweep.
 */
import { CommandError, type CommandGroup } from '../src/command/spec.js';
import { arg, type CommandContext, defineCommand } from '../src/pipeline/define.js';

function meetings(ctx: CommandContext) {
  if (!ctx.meetings) throw new CommandError('the meetings engine is not running here');
  return ctx.meetings;
}

export const group: CommandGroup = {
  name: 'meeting',
  summary: 'meetings seen from anywhere: list them, end one whose chairs are gone',
  commands: [
    defineCommand({
      path: ['meeting', 'end'],
      summary: 'end the meeting open in a channel and write its minutes, from anywhere',
      args: {
        channel: arg
          .text("the meeting's channel: '#kimchi', or NETWORK/#channel when several networks have one")
          .positional()
          .required(),
      },
      examples: [{ input: 'meeting end #nowhere', reply: 'no meeting' }],
      async run({ args, ctx }) {
        const target = args.channel.trim();
        const ended = meetings(ctx).endMeeting(target, ctx.identity.user ?? ctx.identity.nick);
        if (!ended.ok) throw new CommandError(ended.text, 'invalid');
        return { reply: ended.text, detail: `ended the meeting in ${target}` };
      },
    }),
    defineCommand({
      path: ['meeting', 'list'],
      summary: 'list the meetings open now, where and since when',
      args: {},
      examples: [{ input: 'meeting list', reply: 'no meeting is open' }],
      async run({ ctx }) {
        const open = meetings(ctx).openMeetings();
        if (open.length === 0) return { reply: 'no meeting is open' };
        const lines = open.map(({ place, meeting }) => {
          const net = place.networkLabel ?? place.network;
          const since = new Date(meeting.startTime).toISOString().slice(0, 16).replace('T', ' ');
          return `${net ? `${net}/` : ''}${meeting.channel}: started by ${meeting.ownerNick()} at ${since} UTC, ${meeting.lineCount} lines`;
        });
        return { reply: `${open.length} meeting${open.length === 1 ? '' : 's'} open`, lines };
      },
    }),
  ],
};
