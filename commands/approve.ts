import { CommandError, type CommandGroup } from '../src/command/spec.js';

export const group: CommandGroup = {
  name: 'approve',
  summary: "approve someone else's command that a rule puts under approval",
  commands: [
    {
      path: ['approve'],
      summary:
        "approve the command behind this code (you must hold an approver role and not be the one who asked); they then 'confirm' it",
      args: [{ name: 'code', type: 'code', positional: true, required: true, help: 'the code virtbot gave' }],
      // Who may approve is decided by the confirmation stage (approver roles, no self-approval).
      open: true,
      examples: [{ input: 'approve ABCDEF', reply: 'no pending action has code ABCDEF' }],
      async run() {
        // Reaching here means the confirmation stage was bypassed: refuse rather than guess.
        throw new CommandError('approvals are handled by the confirmation stage only');
      },
    },
  ],
};
