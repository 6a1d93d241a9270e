/**
 * `tasks`, `task show N`, `task cancel N`: the long work commands left running (clones,
 * snapshots): what runs, what it is doing, how it ended, and stopping it where libvirt allows.
 * (`task show N` rather than `task N`: a Discord slash command cannot be both a command and the
 * parent of `/task cancel`, and every command here is a slash command too.)
 *
 * Who sees a task: the person who asked for it, from anywhere; and anyone in the channel it was
 * asked in. A task asked for in private is its author's alone. Others are told there is no such
 * task, as for one that never was.
 */
import { CommandError, type CommandGroup } from '../src/command/spec.js';
import { arg, type CommandContext, defineCommand } from '../src/pipeline/define.js';
import { duration, TaskError, type TaskRecord } from '../src/tasks/runner.js';
import { plural } from './vm-common.js';

function describe(t: TaskRecord, now: Date): string {
  const end = t.endedAt !== undefined ? Date.parse(t.endedAt) : now.getTime();
  const took = duration(Date.parse(t.startedAt), end);
  const where = t.place.private ? 'in private' : `in ${t.place.label ?? t.place.channel}`;
  const state =
    t.state === 'running'
      ? `running for ${took}${t.progress ? ` (${t.progress})` : ''}`
      : `${t.state} after ${took}: ${t.result ?? ''}`;
  return `task ${t.id}: ${t.title} — ${state}; asked by ${t.who.user ?? t.who.nick} ${where}`;
}

function visible(t: TaskRecord, ctx: CommandContext): boolean {
  if (t.who.user !== null && t.who.user === ctx.identity.user) return true;
  if (t.place.private) return t.who.user === null && t.who.nick === ctx.sender.nick && ctx.place.private;
  const { place } = ctx;
  return (
    t.place.transport === place.transport &&
    t.place.network === place.network &&
    t.place.channel === place.channel
  );
}

/** The task, when the asker may see it. */
function find(ctx: CommandContext, id: number): TaskRecord | undefined {
  const task = ctx.tasks.get(id);
  return task && visible(task, ctx) ? task : undefined;
}

const idArg = () => arg.int('the task’s number', { min: 1 }).positional().required();

const list = defineCommand({
  path: ['tasks'],
  summary: 'the tasks running now and those ended lately',
  args: {},
  examples: [{ input: 'tasks', reply: 'no tasks running' }],
  async run({ ctx }) {
    const tasks = ctx.tasks.list().filter((t) => visible(t, ctx));
    const running = tasks.filter((t) => t.state === 'running');
    const ended = tasks.filter((t) => t.state !== 'running');
    const reply =
      (running.length === 0
        ? 'no tasks running'
        : `${plural(running.length, 'task')} running: ${running.map((t) => `${t.id} ${t.title}`).join(', ')}`) +
      (ended.length > 0 ? `; ${ended.length} ended lately` : '');
    return { reply, lines: tasks.map((t) => describe(t, ctx.now())), detail: 'List tasks' };
  },
});

const show = defineCommand({
  path: ['task', 'show'],
  summary: 'one task: what it does, how far it got or how it ended, who asked',
  args: { id: idArg() },
  examples: [{ input: 'task show 7', reply: "no task 7 (see 'tasks')" }],
  async run({ args, ctx }) {
    const task = find(ctx, args.id);
    if (!task) throw new CommandError(`no task ${args.id} (see 'tasks')`, 'invalid');
    return {
      reply: describe(task, ctx.now()),
      detail: `Show task ${task.id}`,
      about: { ...(task.host ? { host: task.host } : {}), ...(task.vm ? { vm: task.vm } : {}) },
    };
  },
});

const cancel = defineCommand({
  path: ['task', 'cancel'],
  summary: 'stop a running task where libvirt allows (a clone stops after the disk it is copying)',
  args: { id: idArg() },
  mutates: true,
  examples: [{ input: 'task cancel 7', reply: "no task 7 (see 'tasks')" }],
  async run({ args, ctx }) {
    const task = find(ctx, args.id);
    if (!task) throw new CommandError(`no task ${args.id} (see 'tasks')`, 'invalid');
    const about = task
      ? { ...(task.host ? { host: task.host } : {}), ...(task.vm ? { vm: task.vm } : {}) }
      : {};
    try {
      return { reply: await ctx.tasks.cancel(args.id), detail: `Cancel task ${args.id}`, about };
    } catch (error) {
      if (error instanceof TaskError) throw new CommandError(error.message, 'invalid', { about });
      throw error;
    }
  },
});

export const tasksGroup: CommandGroup = {
  name: 'tasks',
  summary: 'long work still running, and how it ended',
  commands: [list],
};
export const taskGroup: CommandGroup = {
  name: 'task',
  summary: 'one task: show it, cancel it',
  commands: [show, cancel],
};
