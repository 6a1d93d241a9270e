import { CommandError, type CommandGroup } from '../src/command/spec.js';

/**
 * `confirm` and `cancel` are declared here (for help, parsing and slash commands) but carried
 * out by the pipeline's confirmation stage, which swaps in the pending command before execution.
 * Reaching `run` means the stage was bypassed: refuse rather than guess.
 */
function handledByConfirmationStage(): never {
  throw new CommandError('confirmation codes are handled by the confirmation stage only');
}

const code = {
  name: 'code',
  type: 'code',
  positional: true,
  required: true,
  help: 'the code virtbot gave you',
} as const;

export const confirmGroup: CommandGroup = {
  name: 'confirm',
  summary: 'go ahead with a destructive command',
  commands: [
    {
      path: ['confirm'],
      summary: 'go ahead with the destructive command that gave you this code',
      args: [code],
      open: true,
      examples: [{ input: 'confirm ABCDEF', reply: 'no pending action has code ABCDEF' }],
      run: handledByConfirmationStage,
    },
  ],
};

export const cancelGroup: CommandGroup = {
  name: 'cancel',
  summary: 'drop a pending destructive command',
  commands: [
    {
      path: ['cancel'],
      summary: 'drop the pending destructive command with this code',
      args: [code],
      open: true,
      examples: [{ input: 'cancel ABCDEF', reply: 'no pending action has code ABCDEF' }],
      run: handledByConfirmationStage,
    },
  ],
};
