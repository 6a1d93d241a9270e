/**
 * The one pipeline every message goes through, whatever the transport. Read it top to bottom:
 *
 *   identify → meeting → (addressed?) → record( rate-limit → parse → resolve → bind → target
 *     → authorize → confirm → [intent] → [snapshot first] → execute → [outcome] ) → reply
 *
 * Each stage (./stages) is a small function with one job that takes the previous stage's value
 * and returns a narrower one, or throws `Stop` with the turn's outcome. The record stage writes
 * every outcome, including a crash's, before any reply leaves; for a command that changes a host
 * it writes the intent first. `confirm CODE` returns the stored invocation, which goes through
 * target and authorize again before it runs. A change about to run is noted in the registry of
 * virtbot's own recent changes (so that the events it causes are linked to it, src/events/).
 */
import { identityKey } from '../auth/confirmations.js';
import { HISTORY_ALL } from '../auth/history-visibility.js';
import { identityOfUser } from '../auth/identity.js';
import { judge } from '../auth/judge.js';
import type { ResumeRequest } from '../command/spec.js';
import type { InboundMessage, Reply } from '../core/types.js';
import type { ValidationContext } from '../grammar/types.js';
import { StoreUnavailable } from '../store/unavailable.js';
import type { Explanation, PermissionDesk } from './context.js';
import type { PipelineDeps } from './deps.js';
import { type Bound, type Ending, Stop, stop, type Utterance } from './invocation.js';
import { commandServices } from './services.js';
import { authorize, judgeRequest } from './stages/authorize.js';
import { bind } from './stages/bind.js';
import { confirm } from './stages/confirm.js';
import { execute } from './stages/execute.js';
import { identify } from './stages/identify.js';
import { meeting } from './stages/meeting.js';
import { DEFAULT_MAX_LINE_BYTES, parse } from './stages/parse.js';
import { rateLimiter } from './stages/rate-limit.js';
import { TurnRecorder } from './stages/record.js';
import { resolve } from './stages/resolve.js';
import { snapshotFirst } from './stages/snapshot-first.js';
import { target } from './stages/target.js';

export type Handler = (msg: InboundMessage) => Promise<Reply[]>;

export interface Pipeline {
  handle: Handler;
  permissions: PermissionDesk;
}

/** `confirm CODE` / `cancel CODE` said in a channel without the prefix: for the bot when the code is the person's. */
const BARE_CODE = /^(confirm|cancel)\s+([A-Za-z0-9]{4,16})$/i;

export function createPipeline(deps: PipelineDeps): Pipeline {
  let limits = { config: deps.config().rateLimits, check: rateLimiter(deps.config().rateLimits, deps.now) };
  const rateLimit = (utterance: Utterance) => {
    const current = deps.config().rateLimits;
    if (current !== limits.config) limits = { config: current, check: rateLimiter(current, deps.now) };
    limits.check(utterance);
  };
  const validation = (): ValidationContext => ({ hostNames: deps.hosts.names(), now: deps.now });

  const permissions: PermissionDesk = {
    identityOf: (user) => identityOfUser(deps.config(), user),
    explain: (identity, line, place) => explain(identity, line, place),
  };

  async function handle(msg: InboundMessage): Promise<Reply[]> {
    const utterance = identify(deps.config(), msg);
    const seen = await meeting(utterance, deps.meetings);
    if (seen.handled) return seen.replies;
    if (!msg.addressed && !(await isBareCode(utterance))) return seen.replies;
    const recorder = new TurnRecorder(utterance, deps);
    let ending: Ending;
    try {
      ending = await operate(utterance, recorder);
    } catch (error) {
      ending =
        error instanceof Stop
          ? error.ending
          : error instanceof StoreUnavailable
            ? { ...stop('failed', error.message).ending, storeDown: true }
            : crashed(error, utterance);
    }
    const replies = [...seen.replies, ...(await recorder.finish(ending)), ...noticesFor(utterance)];
    if (ending.settles) void followUp(ending.settles, recorder, utterance);
    return replies;
  }

  /**
   * A change that was still in progress on the host when the command answered: when libvirt
   * says how it ended, the outcome is recorded against the command's intent, and said where the
   * command was asked, to the person who asked.
   */
  async function followUp(
    settles: NonNullable<Ending['settles']>,
    recorder: TurnRecorder,
    utterance: Utterance,
  ) {
    const settled = await settles.catch((error: unknown) => ({
      outcome: 'unknown' as const,
      message: `could not tell how it ended: ${error instanceof Error ? error.message : String(error)}`,
    }));
    const intent = recorder.intent;
    if (intent !== undefined) {
      await deps.audit
        .finish(intent, { outcome: settled.outcome, detail: settled.message })
        .catch((error: unknown) =>
          deps.logger.error({ err: error, intent }, 'a settled outcome could not be recorded'),
        );
    }
    const reply: Reply = {
      text: `${utterance.msg.sender.nick}: ${settled.message}`,
      kind: settled.outcome === 'ok' ? 'reply' : 'error',
    };
    await deps
      .announce?.(utterance.msg.place, [reply])
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'a settled outcome could not be said'));
  }

  /** Pending warnings for admins (the audit log's), said once to the first admin who speaks. */
  function noticesFor(utterance: Utterance): Reply[] {
    const notices = deps.adminNotices;
    if (!notices || notices.length === 0) return [];
    const admin = judge(deps.config(), {
      identity: utterance.identity,
      command: {
        permission: HISTORY_ALL,
        open: false,
        destructive: false,
        target: { kind: 'none' },
        args: [],
      },
      args: {},
      place: utterance.msg.place,
    }).allowed;
    if (!admin) return [];
    return notices.splice(0).map((text) => ({ text: `warning: ${text}`, kind: 'error', private: true }));
  }

  async function isBareCode(utterance: Utterance): Promise<boolean> {
    const match = BARE_CODE.exec(utterance.line);
    if (!match) return false;
    return deps.confirmations.isPendingFor(match[2]!, utterance.requester, utterance.placeKey);
  }

  async function operate(utterance: Utterance, recorder: TurnRecorder): Promise<Ending> {
    rateLimit(utterance);
    const config = deps.config();
    const parsed = parse(utterance, config.bot.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    const resolved = resolve(parsed, deps.registry);
    recorder.describe(resolved);
    const bound = bind(resolved, validation());
    recorder.describe(bound);
    return proceed(bound, recorder);
  }

  async function proceed(bound: Bound, recorder: TurnRecorder): Promise<Ending> {
    const config = deps.config();
    const invocation = await target(bound, deps.hosts, config);
    recorder.describe(invocation);
    const authorized = await confirm(authorize(invocation, config), deps.confirmations);
    if (authorized.command.mutates) await recorder.intend(authorized);
    const snapshotNote = await snapshotFirst(authorized, recorder, deps.now);
    const own = authorized.command.mutates ? deps.ownChanges?.note(authorized, deps.now()) : undefined;
    const services = commandServices(deps, bound, permissions, { invocation: authorized, recorder, own });
    const executed = await execute(authorized, services, deps.crossLock).finally(() =>
      own?.finished(deps.now()),
    );
    if ('resume' in executed) return proceed(resumed(bound, executed.resume), recorder);
    if (snapshotNote !== undefined) {
      const reply = executed.ending.reply;
      reply.lines = [...(reply.lines ?? []), `note: ${snapshotNote}`];
    }
    return executed.ending;
  }

  /** The invocation `confirm CODE` brought back, as a bound invocation of the confirming person. */
  function resumed(confirming: Bound, request: ResumeRequest): Bound {
    return {
      ...confirming,
      command: request.command,
      args: request.args,
      canonical: request.line,
      confirmed: { code: request.code, approvedBy: request.approvedBy, approvalRules: request.approvalRules },
    };
  }

  async function explain(
    identity: Utterance['identity'],
    line: string,
    place: InboundMessage['place'],
  ): Promise<Explanation> {
    const msg: InboundMessage = {
      place,
      sender: { nick: identity.nick },
      text: line,
      time: deps.now(),
      addressed: true,
    };
    const utterance: Utterance = {
      msg,
      identity,
      placeKey: `${place.transport}:${place.network}:${place.channel}`,
      requester: identityKey(identity, ''),
      line,
    };
    const config = deps.config();
    const bound = bind(
      resolve(parse(utterance, config.bot.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES), deps.registry),
      validation(),
    );
    const invocation = await target(bound, deps.hosts, config);
    const path = bound.command.path.join(' ');
    if (invocation.target.kind === 'hosts') {
      try {
        const authorized = authorize(invocation, config);
        const shown = authorized.target.kind === 'hosts' ? authorized.target.hosts.map((h) => h.name) : [];
        const left = authorized.withheld.map((w) => `${w.name} withheld: ${w.reason}`);
        return {
          path,
          aim: `hosts ${shown.join(', ')}${left.length > 0 ? ` (${left.join('; ')})` : ''}`,
          verdict: authorized.verdict,
        };
      } catch (error) {
        if (!(error instanceof Stop)) throw error;
        return {
          path,
          aim: 'every host',
          verdict: judge(config, judgeRequest(invocation, invocation.target.hosts[0]?.name)),
        };
      }
    }
    const aim = describeAim(invocation.target);
    return { path, aim, verdict: judge(config, judgeRequest(invocation)) };
  }

  function crashed(error: unknown, utterance: Utterance): Ending {
    const id = `E${Date.now().toString(36)}`;
    deps.logger.error({ err: error, errorId: id, line: utterance.line }, 'command crashed');
    return stop(
      'failed',
      `internal error (${id}): the command did not finish; check the host before trying again`,
    ).ending;
  }

  return { handle, permissions };
}

function describeAim(target: import('./invocation.js').Target): string {
  switch (target.kind) {
    case 'none':
      return 'no host';
    case 'hosts':
      return `hosts ${target.hosts.map((h) => h.name).join(', ')}`;
    case 'host':
      return `host ${target.host.name}`;
    case 'vm':
      return `VM ${target.vm} on ${target.host.name}`;
    case 'new-vm':
      return `new VM ${target.vm} on ${target.host.name}`;
  }
}
