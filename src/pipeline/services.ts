/**
 * The services a command body gets for one turn (see context.ts): each is bound to the person
 * asking and the place they ask in, so a command cannot read another place's history or redeem
 * another person's code by accident.
 */
import type { PendingInvocation, Taken } from '../auth/confirmations.js';
import { historyFilter } from '../auth/history-visibility.js';
import { CommandError, type ResumeRequest } from '../command/spec.js';
import { accessOf, findVm } from '../libvirt/placement.js';
import type { TaskRunner } from '../tasks/runner.js';
import type { CommandContext, ConfirmationDesk, HistoryReader, PermissionDesk, TaskDesk } from './context.js';
import type { PipelineDeps } from './deps.js';
import { type Authorized, aimOf, type Utterance } from './invocation.js';
import type { TurnRecorder } from './stages/record.js';

/** The turn as it will run, for tasks: what they are about, where they record, their own-change note. */
interface Turn {
  invocation: Authorized;
  recorder: TurnRecorder;
  own?: { finished(time: Date): void } | undefined;
}

export function commandServices(
  deps: PipelineDeps,
  utterance: Utterance,
  permissions: PermissionDesk,
  /** The turn as it will run: what a task started by the command is about and records under. */
  turn?: Turn,
): CommandContext {
  const config = deps.config();
  const { msg, identity } = utterance;
  return {
    identity,
    sender: msg.sender,
    place: msg.place,
    now: deps.now,
    replyPrefix: msg.replyPrefix ?? '',
    registry: deps.registry,
    directory: deps.hosts,
    history: historyReader(deps, utterance),
    permissions,
    confirmations: confirmationDesk(deps, utterance),
    access: config,
    ...(deps.meetings ? { meetings: deps.meetings } : {}),
    tasks: taskDesk(deps.tasks, utterance, turn),
    whereIs: (vm) => findVm(deps.hosts, vm, deps.hosts.names()),
    ...(deps.events ? { events: deps.events } : {}),
  };
}

function taskDesk(runner: TaskRunner | undefined, utterance: Utterance, turn: Turn | undefined): TaskDesk {
  const none = (): never => {
    throw new CommandError('tasks are not kept here');
  };
  return {
    run(spec) {
      if (!runner || !turn) return spec.work({ signal: new AbortController().signal, progress: () => {} });
      const { invocation, recorder } = turn;
      const { msg, identity } = utterance;
      const result = runner.run(spec, {
        command: invocation.canonical,
        path: invocation.command.path.join('.'),
        ...aimOf(invocation.target),
        who: { user: identity.user, nick: msg.sender.nick, proof: identity.proof },
        place: msg.place,
        placeKey: utterance.placeKey,
        intentId: () => recorder.intent,
        recorded: recorder.recorded,
      });
      // The change is virtbot's until its task ends, not only until the reply.
      void result.then((r) => r.hold?.finally(() => turn.own?.finished(new Date()))).catch(() => undefined);
      return result;
    },
    list: () => runner?.list() ?? [],
    get: (id) => runner?.get(id),
    cancel: (id) => (runner ? runner.cancel(id) : Promise.resolve(none())),
  };
}

function historyReader(deps: PipelineDeps, utterance: Utterance): HistoryReader {
  return {
    query(filter) {
      const visible = historyFilter(
        deps.config(),
        { identity: utterance.identity, place: utterance.msg.place },
        (host, vm) => accessOf(deps.hosts, host, vm),
      );
      // The store shows each operation once, by its latest outcome.
      return deps.audit.query({ ...filter, accept: visible });
    },
    verify: () => deps.audit.verify(),
  };
}

function confirmationDesk(deps: PipelineDeps, utterance: Utterance): ConfirmationDesk {
  const store = deps.confirmations;
  const { requester, placeKey, identity } = utterance;
  const approver = { key: requester, user: identity.user, roles: identity.roles };
  const aim = (pending: PendingInvocation) => ({
    ...(pending.host ? { host: pending.host } : {}),
    ...(pending.vm ? { vm: pending.vm } : {}),
  });
  const refuse = (reason: string, lapsed?: PendingInvocation, refused?: PendingInvocation): never => {
    // A refusal about someone's real pending command is a denial, recorded with where it was aimed.
    if (refused) throw new CommandError(reason, 'denied', { about: aim(refused) });
    if (!lapsed) throw new CommandError(reason, 'invalid');
    throw new CommandError(reason, 'lapsed', {
      detail: `code ${lapsed.code} for ${lapsed.line} lapsed at ${new Date(lapsed.expiresAt).toISOString()}: nothing was done`,
      about: aim(lapsed),
    });
  };
  const throttle = () => {
    const wait = store.throttled(requester);
    if (wait !== undefined) throw new CommandError(wait, 'denied');
  };
  /** Throttled, then the operation; its pending invocation, or the refusal. */
  const settle = (key: string, operation: () => Promise<Taken>) =>
    store.serial(key, async () => {
      throttle();
      const taken = await operation();
      return taken.ok ? taken.pending : refuse(taken.reason, taken.lapsed, taken.refused);
    });
  return {
    timeoutSeconds: store.timeout,
    confirm: (code) =>
      store.serial(requester, async (): Promise<ResumeRequest> => {
        throttle();
        const taken = await store.redeem(code, requester, placeKey);
        if (!taken.ok) return refuse(taken.reason, taken.lapsed);
        const { pending } = taken;
        return {
          code: pending.code,
          command: pending.command,
          args: pending.args,
          line: pending.line,
          approvedBy: [
            ...new Set(pending.approvals.map((a) => a.by).filter((by): by is string => by !== undefined)),
          ],
          approvalRules: pending.approvals.filter((a) => a.by !== undefined).flatMap((a) => a.need.rules),
        };
      }),
    cancel: (code) => settle(requester, () => store.cancel(code, requester, placeKey)),
    approve: (code) => settle(requester, () => store.approve(code, approver, placeKey)),
    deny: (code) => settle(requester, () => store.deny(code, approver, placeKey)),
  };
}
