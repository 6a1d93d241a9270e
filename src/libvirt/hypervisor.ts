/**
 * The libvirt operations commands use, on one host. Every name is checked and every argument
 * quoted before it reaches virsh; XML goes through a private temporary file. Operations that
 * change a domain run under a per-domain lock so that two commands on the same VM never lose
 * each other's changes.
 */
import type { AccountsConfig } from '../config/sections/hosts.js';
import { type AccountRanges, accountRanges, TtlCache } from './accounts.js';
import type { HostBackend } from './backend.js';
import type { DeviceKey, Settled } from './device-change.js';
import { type DomainView, viewDomain } from './domain.js';
import { HostEvents, type HostEventsOptions } from './events.js';
import { type HealthOptions, HostHealth, type HostHealthView } from './health.js';
import {
  type HostResources,
  hostResources,
  networkActive,
  type PoolSpace,
  poolSpace,
  type VcpuLimits,
  vcpuLimits,
  volumeUsers,
} from './limits.js';
import { type MetadataMode, readOurs, VIRTBOT_NS, type VmMetadata } from './metadata.js';
import {
  type AccessChange,
  accessEdit,
  type MetadataEdit,
  type MetadataUpdate,
  type MetadataValues,
  type UpdateOptions,
  updateMetadata,
} from './metadata-update.js';
import { HostKeyError, SshAuthError, SshUnreachableError } from './ssh/errors.js';
import { domainStateName, nameLines, parseDomstats, parseIdNames, parseKeyValues } from './virsh/parse.js';
import { checkName, checkPath, type VirshArg, VirshArgError } from './virsh-quote.js';
import {
  type BatchResult,
  VirshError,
  type VirshResult,
  VirshShell,
  VirshStartError,
} from './virsh-shell.js';
import { buildXml, child, el, parseXml, path, textOf, type XmlElement } from './xml.js';

export interface DomainSummary {
  name: string;
  /** running, shut off, paused, … as virsh prints it. */
  state: string;
  vcpus: number;
  /** Current memory (KiB). */
  memoryKiB: number;
  maxMemoryKiB: number;
  /** False for a transient VM: it is gone once stopped. */
  persistent: boolean;
  autostart: boolean;
  id: string;
  /** False when virtbot refuses the name (see `checkName`): it is listed, but commands cannot name it. */
  addressable: boolean;
  /** Why not, when not addressable. */
  unaddressable?: string;
}

/** A domain as `listDomains` gives it: autostart and id only with `details`. */
export interface DomainListing extends Omit<DomainSummary, 'autostart' | 'id'> {
  autostart?: boolean;
  id?: string;
}

export interface NetworkSummary {
  name: string;
  active: boolean;
  autostart: boolean;
  persistent: boolean;
  bridge: string | undefined;
}

export interface VersionInfo {
  library: string;
  api: string;
  hypervisor: string;
  daemon: string | undefined;
}

/** Where a change applies: the running VM, its persistent config, or both. */
export interface Scope {
  live: boolean;
  config: boolean;
}

export { parseKeyValues };

export function scopeArgs(scope: Scope): VirshArg[] {
  const args: VirshArg[] = [];
  if (scope.live) args.push({ option: '--live' });
  if (scope.config) args.push({ option: '--config' });
  return args;
}

function kib(value: string | undefined): number {
  const m = /^(\d+)\s*(KiB|MiB|GiB)?/.exec(value ?? '');
  if (!m) return 0;
  const factor = m[2] === 'GiB' ? 1024 ** 2 : m[2] === 'MiB' ? 1024 : 1;
  return Number(m[1]) * factor;
}

/** A libvirt error that means "no such object". */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof VirshError &&
    /not found|no domain with matching|no network with matching|no storage|failed to get (domain|network|pool|vol)/i.test(
      error.message,
    )
  );
}

/** virsh could not find the domain it was asked about (so the command did nothing). */
export function isDomainNotFound(error: unknown): boolean {
  return error instanceof VirshError && /failed to get domain|no domain with matching/i.test(error.message);
}

/**
 * Told when what is known of a domain's whereabouts may be stale: `name` is gone from this host
 * or was (re)defined here; `undefined` means any domain may have.
 */
export type PlacementListener = (host: string, name: string | undefined) => void;

export interface HypervisorOptions {
  /** The host's account settings (login.defs, overrides, cache time). */
  accounts?: Partial<AccountsConfig>;
  /** Clock (ms) for caches and health; tests pass a fake one. */
  now?: () => number;
  /** The circuit breaker's backoff (see health.ts). */
  health?: HealthOptions;
  /** The event stream's restart backoff (see events.ts). */
  events?: HostEventsOptions;
  /** The host option `metadata` (metadata.ts): auto, virtbot or kimchi. */
  metadata?: MetadataMode;
}

/** A device change still in progress on a VM. */
export interface PendingChange {
  key: DeviceKey;
  since: Date;
  settled: Promise<Settled>;
}

/** The error means the host could not be reached at all (nothing ran), not that a command failed. */
export function isUnreachable(error: unknown): boolean {
  return (
    error instanceof VirshStartError ||
    error instanceof SshAuthError ||
    error instanceof SshUnreachableError ||
    error instanceof HostKeyError
  );
}

export class Hypervisor {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly accountsCache: TtlCache<string>;
  private readonly rangesCache: TtlCache<AccountRanges>;
  /** The circuit breaker: while the host is down, calls fail at once (HostDownError). */
  readonly healthState: HostHealth;
  /** libvirt's domain events on this host, plus host-lost / host-back (see events.ts). */
  readonly events: HostEvents;
  /** Whether the connection is up, as last heard (undefined: not yet known). */
  private linkUp: boolean | undefined;
  /** Device changes still in progress, per VM (see device-change.ts). */
  private readonly pending = new Map<string, Map<string, PendingChange>>();
  /** True once close() was called. */
  closed = false;

  constructor(
    /** The configured host name. */
    readonly name: string,
    readonly uri: string,
    readonly backend: HostBackend,
    private readonly placementChanged: PlacementListener = () => {},
    readonly options: HypervisorOptions = {},
  ) {
    const ttl = (options.accounts?.cacheSeconds ?? 60) * 1000;
    this.accountsCache = new TtlCache(ttl, options.now);
    this.rangesCache = new TtlCache(ttl, options.now);
    this.healthState = new HostHealth(name, () => this.contact(), {
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...options.health,
    });
    const spawn = backend.spawnVirsh?.bind(backend);
    // On the test driver a second virsh would watch a state of its own (see events.ts).
    this.events = new HostEvents(name, /^test:/.test(uri) ? undefined : spawn, {
      ...options.events,
      allowed: () => !this.healthState.isDown,
    });
    backend.onLinkChange?.((up, reason) => this.link(up, reason));
    this.healthState.onChange((view) => this.link(view.state === 'up', view.reason));
  }

  /** The connection went (host-lost) or came back (host-back, after a loss). */
  private link(up: boolean, reason?: string): void {
    const was = this.linkUp;
    this.linkUp = up;
    if (up && was === false) {
      this.events.emit({ type: 'host-back', time: new Date() });
      void this.events.start().catch(() => undefined);
    } else if (!up && was !== false) {
      this.events.emit({ type: 'host-lost', time: new Date(), reason: reason ?? 'the connection was lost' });
    }
  }

  /** Reach the host now, bypassing the breaker: decrypt the SSH key, start virsh. */
  private async contact(): Promise<void> {
    await this.backend.prepare?.();
    await this.backend.shell.run('uri');
  }

  /**
   * Connect now (at start-up, not at the first command). Never throws: a host that cannot be
   * reached is marked down and retried in the background; the answer says how it stands.
   */
  async connect(): Promise<HostHealthView> {
    try {
      await this.contact();
      this.healthState.succeeded();
      await this.events.start().catch(() => undefined);
    } catch (error) {
      if (isUnreachable(error)) this.healthState.failed(error);
    }
    return this.health();
  }

  /**
   * Does libvirt hold a job on the domain right now (a device change, …)? Asks without waiting:
   * `domstats --nowait` leaves out the stats that need a job (`balloon.rss` of a running VM)
   * while another job holds it. false for a VM that is not running; undefined when it cannot tell.
   */
  async jobActive(vm: string): Promise<boolean | undefined> {
    const { stdout } = await this.virsh(
      'domstats',
      [{ option: '--state' }, { option: '--balloon' }, { option: '--nowait' }, checkName('vm', vm)],
      { timeoutMs: 5000 },
    );
    const stats = parseDomstats(stdout).get(vm);
    if (!stats) return undefined;
    const state = Number(stats['state.state']);
    if (state === 5 || state === 6) return false;
    if (stats['balloon.current'] === undefined) return false;
    return stats['balloon.rss'] === undefined;
  }

  /** The device changes on `vm` still in progress (a detach the guest has not released yet, …). */
  pendingChanges(vm: string): PendingChange[] {
    return [...(this.pending.get(vm)?.values() ?? [])];
  }

  /** Record an in-progress change (device-change.ts does; it forgets it once settled). */
  rememberPending(vm: string, key: DeviceKey, settled: Promise<Settled>): void {
    let forVm = this.pending.get(vm);
    if (!forVm) {
      forVm = new Map();
      this.pending.set(vm, forVm);
    }
    forVm.set(JSON.stringify(key), { key, since: new Date(), settled });
  }

  forgetPending(vm: string, key: DeviceKey): void {
    const forVm = this.pending.get(vm);
    forVm?.delete(JSON.stringify(key));
    if (forVm?.size === 0) this.pending.delete(vm);
  }

  /** up / down since … / next try …, for `host list` and logs. */
  health(): HostHealthView {
    return this.healthState.view();
  }

  /**
   * Run `fn`, which reaches the host, through the breaker: fails at once while the host is down;
   * a failure to reach it marks it down (the caller gets HostDownError, with the cause).
   */
  async reach<T>(fn: () => Promise<T>): Promise<T> {
    this.healthState.gate();
    try {
      const out = await fn();
      this.healthState.succeeded();
      return out;
    } catch (error) {
      if (isUnreachable(error)) throw this.healthState.failed(error);
      throw error;
    }
  }

  /** Run a virsh command on this host (arguments are quoted by the shell layer). */
  async virsh(
    command: string,
    args: readonly VirshArg[] = [],
    options: { timeoutMs?: number; long?: boolean } = {},
  ): Promise<VirshResult> {
    const { long, ...runOptions } = options;
    try {
      return await this.reach(() =>
        long
          ? this.onItsOwnVirsh(command, args, runOptions)
          : this.backend.shell.run(command, args, runOptions),
      );
    } catch (error) {
      if (isDomainNotFound(error)) {
        const domain = args.find(
          (a): a is { option: string; value: string | number } =>
            typeof a === 'object' && a.option === '--domain' && 'value' in a,
        );
        this.placementChanged(this.name, domain !== undefined ? String(domain.value) : undefined);
      }
      throw error;
    }
  }

  /**
   * A command that may run for minutes (copying a disk, a snapshot with memory) gets a virsh
   * process of its own, on the same SSH connection: on the host's one long-lived virsh every other
   * command — `vm info` from someone else — would wait behind it. Not on libvirt's test driver,
   * where each virsh process has a state of its own (the command would act on another "host").
   */
  private async onItsOwnVirsh(
    command: string,
    args: readonly VirshArg[],
    options: { timeoutMs?: number },
  ): Promise<VirshResult> {
    const spawn = this.backend.spawnVirsh?.bind(this.backend);
    if (spawn === undefined || /^test:/.test(this.uri)) return this.backend.shell.run(command, args, options);
    const shell = new VirshShell({ host: this.name, spawn, ...options });
    try {
      return await shell.run(command, args, options);
    } finally {
      await shell.close().catch(() => undefined);
    }
  }

  /** Serialize `fn` with every other locked operation on the same domain. */
  async withDomainLock<T>(domain: string, fn: () => Promise<T>): Promise<T> {
    const key = domain;
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  // ------------------------------------------------------------------ domains

  async listDomainNames(): Promise<string[]> {
    const { stdout } = await this.virsh('list', [{ option: '--all' }, { option: '--name' }]);
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }

  /** Run several commands in one round trip (see VirshShell.runBatch); one result each. */
  async batch(
    commands: readonly { command: string; args?: readonly VirshArg[] }[],
    options: { timeoutMs?: number } = {},
  ): Promise<BatchResult[]> {
    return this.reach(() => this.backend.shell.runBatch(commands, options));
  }

  /**
   * Every domain with its state, vCPUs and memory, in one round trip whatever their number
   * (`domstats` for all domains at once, `--nowait` so that a VM busy with a job does not hold
   * the listing up). Names virtbot cannot address are listed, marked `addressable: false`;
   * `persistent: false` marks a transient VM (gone once stopped). `details` adds autostart and
   * the running VMs' ids (two more short lists in the same round trip). A
   * driver whose domstats lacks vCPUs or memory (libvirt's test driver) gets one more round
   * trip: `dominfo` for those domains, batched.
   */
  async listDomains(options: { details?: boolean } = {}): Promise<DomainListing[]> {
    // `list --all` costs libvirt a look at every domain: the names come from domstats, and the
    // lists asked for are the short ones (transient; with details, autostart and running ids).
    const results = await this.batch([
      {
        command: 'domstats',
        args: [{ option: '--state' }, { option: '--balloon' }, { option: '--vcpu' }, { option: '--nowait' }],
      },
      { command: 'list', args: [{ option: '--transient' }, { option: '--name' }] },
      ...(options.details
        ? [
            { command: 'list', args: [{ option: '--all' }, { option: '--autostart' }, { option: '--name' }] },
            { command: 'list', args: [{ option: '--id' }, { option: '--name' }] },
          ]
        : []),
    ]);
    const [stats, transient, autostart, running] = results;
    const ids = running ? parseIdNames(ok(running).stdout) : undefined;
    const transients = new Set(nameLines(ok(transient!).stdout));
    const autostarts = autostart ? new Set(nameLines(ok(autostart).stdout)) : undefined;
    // A driver without domstats: every domain by name, then dominfo for each (below).
    const domstats = stats!.ok
      ? parseDomstats(stats!.stdout)
      : new Map<string, Record<string, string>>(
          nameLines(
            ok(
              (
                await this.batch([{ command: 'list', args: [{ option: '--all' }, { option: '--name' }] }])
              )[0]!,
            ).stdout,
          ).map((n) => [n, {}]),
        );
    const out: DomainListing[] = [];
    const missing: string[] = [];
    for (const [name, s] of domstats) {
      if (s['balloon.maximum'] === undefined || s['vcpu.current'] === undefined) {
        missing.push(name);
        continue;
      }
      out.push(
        addressing({
          name,
          state: domainStateName(s['state.state']),
          vcpus: Number(s['vcpu.current']),
          memoryKiB: Number(s['balloon.current'] ?? s['balloon.maximum']),
          maxMemoryKiB: Number(s['balloon.maximum']),
          persistent: !transients.has(name),
          ...(autostarts ? { autostart: autostarts.has(name) } : {}),
          ...(ids ? { id: ids.get(name) ?? '-' } : {}),
        }),
      );
    }
    if (missing.length > 0) {
      const infos = await this.batch(
        missing.map((name) => ({ command: 'dominfo', args: [{ option: '--domain', value: name }] })),
      );
      for (const [i, info] of infos.entries()) {
        // A domain that vanished between the listing and dominfo is simply not listed.
        if (!info.ok) {
          if (isNotFound(info.error)) continue;
          throw info.error;
        }
        out.push(addressing(summaryOf(parseKeyValues(info.stdout), missing[i]!)));
      }
    }
    // domstats lists the running VMs first, as `list --all` does.
    const order = new Map([...domstats.keys()].map((name, i) => [name, i]));
    return out.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  }

  async domainSummary(name: string): Promise<DomainSummary> {
    const info = parseKeyValues((await this.virsh('dominfo', [{ option: '--domain', value: name }])).stdout);
    return addressing(summaryOf(info, name));
  }

  async domainState(name: string): Promise<string> {
    checkName('vm', name);
    return (await this.virsh('domstate', [{ option: '--domain', value: name }])).stdout.trim();
  }

  async isRunning(name: string): Promise<boolean> {
    const state = await this.domainState(name);
    return ['running', 'paused', 'in shutdown', 'idle', 'blocked', 'pmsuspended'].includes(state);
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.domainState(name);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async dumpXml(name: string, options: { inactive?: boolean } = {}): Promise<string> {
    checkName('vm', name);
    const args: VirshArg[] = [{ option: '--domain', value: name }];
    if (options.inactive) args.push({ option: '--inactive' });
    return (await this.virsh('dumpxml', args)).stdout;
  }

  async domain(name: string, options: { inactive?: boolean } = {}): Promise<DomainView> {
    return this.view(parseXml(await this.dumpXml(name, options)));
  }

  /** A domain's XML tree as this host reads it (its metadata mode; Kimchi's ppc64 on ppc64le). */
  async view(root: XmlElement): Promise<DomainView> {
    const written = path(root, 'os', 'type')?.attrs['arch'];
    const hostArch = written === 'ppc64' ? await this.hostArch() : undefined;
    return viewDomain(root, {
      metadata: this.metadataMode,
      ...(hostArch !== undefined ? { hostArch } : {}),
    });
  }

  /** The host option `metadata`: whose format holds OS and access lists (metadata.ts). */
  get metadataMode(): MetadataMode {
    return this.options.metadata ?? 'auto';
  }

  private hostArchCache: Promise<string> | undefined;

  /** The host's own arch (`nodeinfo`'s CPU model is the kernel's machine name: x86_64, ppc64le, …). */
  hostArch(): Promise<string> {
    if (!this.hostArchCache) {
      const pending = this.nodeInfo().then((info) => info['CPU model'] ?? '');
      pending.catch(() => {
        if (this.hostArchCache === pending) this.hostArchCache = undefined;
      });
      this.hostArchCache = pending;
    }
    return this.hostArchCache;
  }

  /** Define (create or replace the persistent config of) a domain from XML. */
  async define(xml: string | XmlElement): Promise<void> {
    const text = typeof xml === 'string' ? xml : buildXml(xml);
    const name = typeof xml === 'string' ? undefined : textOf(child(xml, 'name'))?.trim();
    try {
      await this.reach(() =>
        this.backend.withTempFile(text, (file) => this.virsh('define', [{ option: '--file', value: file }])),
      );
    } finally {
      // A new domain may shadow one of the same name on a later host.
      this.placementChanged(this.name, name);
    }
  }

  async start(name: string): Promise<void> {
    await this.virsh('start', [{ option: '--domain', value: checkName('vm', name) }]);
  }

  /** A transient domain is gone afterwards. */
  async shutdown(name: string): Promise<void> {
    try {
      await this.virsh('shutdown', [{ option: '--domain', value: checkName('vm', name) }]);
    } finally {
      this.placementChanged(this.name, name);
    }
  }

  async reboot(name: string): Promise<void> {
    await this.virsh('reboot', [{ option: '--domain', value: checkName('vm', name) }]);
  }

  /** A transient domain is gone afterwards. */
  async destroy(name: string): Promise<void> {
    try {
      await this.virsh('destroy', [{ option: '--domain', value: checkName('vm', name) }]);
    } finally {
      this.placementChanged(this.name, name);
    }
  }

  /** Undefine a domain; with `storage`, also delete the listed disk targets' volumes. */
  async undefine(
    name: string,
    options: { storage?: readonly string[]; nvram?: boolean } = {},
  ): Promise<void> {
    const args: VirshArg[] = [{ option: '--domain', value: checkName('vm', name) }];
    if (options.storage && options.storage.length > 0) {
      args.push({ option: '--storage', value: options.storage.map((t) => checkName('target', t)).join(',') });
    }
    if (options.nvram) args.push({ option: '--nvram' });
    try {
      await this.virsh('undefine', args);
    } finally {
      this.placementChanged(this.name, name);
    }
  }

  /** Hotplug/attach a device. Throws VirshError when the driver cannot (see `isUnsupported`). */
  async attachDevice(name: string, device: XmlElement, scope: Scope): Promise<void> {
    await this.deviceOp('attach-device', name, device, scope);
  }

  async detachDevice(name: string, device: XmlElement, scope: Scope): Promise<void> {
    await this.deviceOp('detach-device', name, device, scope);
  }

  /** Update a device; a CD-ROM or floppy medium changes even when the guest locked the tray. */
  async updateDevice(name: string, device: XmlElement, scope: Scope): Promise<void> {
    const removable = device.name === 'disk' && ['cdrom', 'floppy'].includes(device.attrs['device'] ?? '');
    await this.deviceOp('update-device', name, device, scope, removable ? [{ option: '--force' }] : []);
  }

  private async deviceOp(
    command: string,
    name: string,
    device: XmlElement,
    scope: Scope,
    extra: VirshArg[] = [],
  ): Promise<void> {
    checkName('vm', name);
    const xml = buildXml(device);
    await this.withTempFile(xml, (file) =>
      this.virsh(command, [
        { option: '--domain', value: name },
        { option: '--file', value: file },
        ...scopeArgs(scope),
        ...extra,
      ]),
    );
  }

  async setVcpus(name: string, count: number, scope: Scope & { maximum?: boolean }): Promise<void> {
    await this.scoped(scope, (s) =>
      this.setVcpusOnce(name, count, { ...s, maximum: scope.maximum ?? false }),
    );
  }

  private async setVcpusOnce(
    name: string,
    count: number,
    scope: Scope & { maximum: boolean },
  ): Promise<void> {
    const args: VirshArg[] = [
      { option: '--domain', value: checkName('vm', name) },
      { option: '--count', value: count },
    ];
    if (scope.maximum) args.push({ option: '--maximum' });
    await this.virsh('setvcpus', [...args, ...scopeArgs(scope)]);
  }

  /**
   * Run a scoped change; a driver that refuses live and config together (libvirt's test driver
   * for setmem) gets them one after the other.
   */
  private async scoped(scope: Scope, fn: (scope: Scope) => Promise<unknown>): Promise<void> {
    try {
      await fn(scope);
    } catch (error) {
      if (
        !(
          scope.live &&
          scope.config &&
          error instanceof VirshError &&
          /mutually exclusive/.test(error.message)
        )
      )
        throw error;
      await fn({ live: true, config: false });
      await fn({ live: false, config: true });
    }
  }

  async setMemory(name: string, kib: number, scope: Scope): Promise<void> {
    await this.scoped(scope, (s) => this.setMemoryOnce(name, kib, s));
  }

  private async setMemoryOnce(name: string, kib: number, scope: Scope): Promise<void> {
    await this.virsh('setmem', [
      { option: '--domain', value: checkName('vm', name) },
      { option: '--size', value: `${Math.round(kib)}KiB` },
      ...scopeArgs(scope),
    ]);
  }

  /** Lower or raise the maximum vCPUs (the VM must be off: config only). */
  async setMaxVcpus(name: string, count: number): Promise<void> {
    await this.setVcpusOnce(name, count, { live: false, config: true, maximum: true });
  }

  // ------------------------------------------------------------------ limits (limits.ts)

  /** The VM's vCPU limits: its machine type's and the host's CPUs. */
  vcpuLimits(view: DomainView): Promise<VcpuLimits> {
    return vcpuLimits(this, view);
  }

  /** The host's CPUs and memory. */
  hostResources(): Promise<HostResources> {
    return hostResources(this);
  }

  /** A storage pool's capacity and free space. */
  poolSpace(pool: string): Promise<PoolSpace> {
    return poolSpace(this, pool);
  }

  /** Whether a network is active; undefined when there is no such network. */
  networkActive(network: string): Promise<boolean | undefined> {
    return networkActive(this, network);
  }

  /** The domains whose disks (live or config) use a path or a pool's volume. */
  volumeUsers(target: { path?: string; pool?: string; volume?: string }): Promise<string[]> {
    return volumeUsers(this, target);
  }

  async setMaxMemory(name: string, kib: number, scope: Scope): Promise<void> {
    await this.virsh('setmaxmem', [
      { option: '--domain', value: checkName('vm', name) },
      { option: '--size', value: `${Math.round(kib)}KiB` },
      ...scopeArgs(scope),
    ]);
  }

  // ------------------------------------------------------------------ metadata

  /** virtbot's metadata element as stored in the persistent config (or undefined). */
  async virtbotMetadata(name: string): Promise<XmlElement | undefined> {
    try {
      const { stdout } = await this.virsh('metadata', [
        { option: '--domain', value: checkName('vm', name) },
        { option: '--uri', value: VIRTBOT_NS },
        { option: '--config' },
      ]);
      const element = stdout.trim() === '' ? undefined : parseXml(stdout);
      this.lastRead.set(name, element);
      return element;
    } catch (error) {
      if (error instanceof VirshError && /metadata not found|not present/i.test(error.message)) {
        this.lastRead.set(name, undefined);
        return undefined;
      }
      throw error;
    }
  }

  /** What `virtbotMetadata` last gave for a VM: the base a caller built a new element from. */
  private readonly lastRead = new Map<string, XmlElement | undefined>();

  /**
   * Set the values of virtbot's metadata element (OS, NIC model and disk bus, and the access list
   * when the element has `<access>`), leaving every other metadata element as it is. Goes
   * through `updateMetadata`: locked against other virtbot processes, verified, and written in
   * Kimchi's format where the VM uses it (so Kimchi sees the same list). Prefer
   * `updateMetadata` / `changeAccess` with a change rather than a whole new element: an element
   * built from an earlier read undoes what others did since.
   */
  async setVirtbotMetadata(name: string, element: XmlElement, scope: Scope): Promise<void> {
    const empty = (): VmMetadata => ({ users: [], groups: [], source: 'none', accessSource: 'none' });
    const given = readOurs(element, empty());
    // The element was built from an earlier read (`virtbotMetadata`): what differs from that read
    // is the change; it is applied to what is there now, so that others' changes since stay.
    const base = this.lastRead.has(name) ? readOurs(this.lastRead.get(name) ?? el('vm'), empty()) : undefined;
    this.lastRead.delete(name);
    const edit: MetadataEdit = (current) => {
      const wanted: Partial<MetadataValues> = {};
      for (const key of ['distro', 'version', 'nicModel', 'diskBus'] as const) {
        if (given[key] !== undefined && given[key] !== base?.[key]) wanted[key] = given[key];
      }
      if (given.accessSource === 'virtbot') {
        if (base?.accessSource === 'virtbot') {
          const delta = (now: string[], was: string[], cur: string[]) => [
            ...cur.filter((x) => !was.includes(x) || now.includes(x)),
            ...now.filter((x) => !was.includes(x) && !cur.includes(x)),
          ];
          wanted.users = delta(given.users, base.users, current.users);
          wanted.groups = delta(given.groups, base.groups, current.groups);
        } else {
          wanted.users = given.users;
          wanted.groups = given.groups;
        }
      }
      return wanted;
    };
    await this.updateMetadata(name, edit, { scope });
  }

  /** Change a VM's metadata safely across processes (metadata-update.ts). */
  updateMetadata(name: string, edit: MetadataEdit, options: UpdateOptions = {}): Promise<MetadataUpdate> {
    return updateMetadata(this, name, edit, options);
  }

  /** Grant or revoke (users and groups as deltas), safely across processes. */
  changeAccess(name: string, change: AccessChange, options: UpdateOptions = {}): Promise<MetadataUpdate> {
    return updateMetadata(this, name, accessEdit(change), options);
  }

  readMetadataElement(element: XmlElement | undefined): VmMetadata {
    const meta: VmMetadata = { users: [], groups: [], source: 'none', accessSource: 'none' };
    if (element) {
      readOurs(element, meta);
      meta.source = 'virtbot';
    }
    return meta;
  }

  // ------------------------------------------------------------------ networks, storage

  async listNetworks(): Promise<NetworkSummary[]> {
    const { stdout } = await this.virsh('net-list', [{ option: '--all' }, { option: '--name' }]);
    const out: NetworkSummary[] = [];
    for (const name of stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')) {
      const info = parseKeyValues(
        (await this.virsh('net-info', [{ option: '--network', value: name }])).stdout,
      );
      out.push({
        name,
        active: info['Active'] === 'yes',
        autostart: info['Autostart'] === 'yes',
        persistent: info['Persistent'] === 'yes',
        bridge: info['Bridge'],
      });
    }
    return out;
  }

  async networkExists(name: string): Promise<boolean> {
    try {
      await this.virsh('net-info', [{ option: '--network', value: checkName('network', name) }]);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async poolExists(name: string): Promise<boolean> {
    try {
      await this.virsh('pool-info', [{ option: '--pool', value: checkName('pool', name) }]);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Create a volume; returns its path. */
  async createVolume(pool: string, volume: string, capacityKiB: number, format: string): Promise<string> {
    checkName('pool', pool);
    checkName('volume', volume);
    await this.virsh('vol-create-as', [
      { option: '--pool', value: pool },
      { option: '--name', value: volume },
      { option: '--capacity', value: `${Math.round(capacityKiB)}KiB` },
      { option: '--format', value: format },
    ]);
    return this.volumePath(pool, volume);
  }

  async volumePath(pool: string, volume: string): Promise<string> {
    const { stdout } = await this.virsh('vol-path', [
      { option: '--pool', value: checkName('pool', pool) },
      { option: '--vol', value: checkName('volume', volume) },
    ]);
    return stdout.trim();
  }

  async deleteVolume(pool: string, volume: string): Promise<void> {
    await this.virsh('vol-delete', [
      { option: '--pool', value: checkName('pool', pool) },
      { option: '--vol', value: checkName('volume', volume) },
    ]);
  }

  /** Delete a volume by path (when it belongs to a pool). */
  async deleteVolumePath(path: string): Promise<void> {
    await this.virsh('vol-delete', [{ option: '--vol', value: checkPath(path) }]);
  }

  async volumeExists(pool: string, volume: string): Promise<boolean> {
    try {
      await this.volumePath(pool, volume);
      return true;
    } catch (error) {
      if (error instanceof VirshError) return false;
      throw error;
    }
  }

  // ------------------------------------------------------------------ host

  async version(): Promise<VersionInfo> {
    const info = parseKeyValues((await this.virsh('version')).stdout);
    return {
      library: (info['Using library'] ?? 'unknown').replace(/^libvirt /, ''),
      api: info['Using API'] ?? 'unknown',
      hypervisor: info['Running hypervisor'] ?? 'unknown',
      daemon: info['Running against daemon'],
    };
  }

  async nodeInfo(): Promise<Record<string, string>> {
    return parseKeyValues((await this.virsh('nodeinfo')).stdout);
  }

  async hostname(): Promise<string> {
    return (await this.virsh('hostname')).stdout.trim();
  }

  /**
   * Regular accounts on the host: uids within the host's login.defs UID_MIN–UID_MAX (system
   * accounts, libvirt-qemu and nobody left out). The lists are reused for `accounts.cacheSeconds`.
   */
  async users(): Promise<string[]> {
    const [getent, ranges] = await Promise.all([this.getent('passwd'), this.accountRanges()]);
    return regularAccounts(getent, 2, ranges.uid);
  }

  /** Regular groups on the host: gids within GID_MIN–GID_MAX. */
  async groups(): Promise<string[]> {
    const [getent, ranges] = await Promise.all([this.getent('group'), this.accountRanges()]);
    return regularAccounts(getent, 2, ranges.gid);
  }

  /** The host's `getent passwd|group`, cached for a short while. */
  getent(database: 'passwd' | 'group'): Promise<string> {
    return this.accountsCache.get(database, () => this.reach(() => this.backend.getent(database)));
  }

  /** The backend's private temporary file, through the breaker. */
  withTempFile<T>(content: string, fn: (path: string) => Promise<T>): Promise<T> {
    return this.reach(() => this.backend.withTempFile(content, fn));
  }

  /** The id ranges of regular accounts on this host (its login.defs, then the config's overrides). */
  accountRanges(): Promise<AccountRanges> {
    const config = this.options.accounts ?? {};
    const path = config.loginDefs ?? '/etc/login.defs';
    return this.rangesCache.get('ranges', async () => {
      let text: string | undefined;
      const read = this.backend.readFile?.bind(this.backend);
      if (read) text = await this.reach(() => read(path)).catch(() => undefined);
      return accountRanges(text, config, path);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.healthState.close();
    this.events.close();
    return this.backend.close();
  }
}

/** The result of a batch member, or its error thrown. */
function ok(result: BatchResult): VirshResult {
  if (!result.ok) throw result.error;
  return result;
}

/** A DomainSummary from `dominfo` fields. */
function summaryOf(info: Record<string, string>, name: string): Omit<DomainSummary, 'addressable'> {
  return {
    name: info['Name'] ?? name,
    state: info['State'] ?? 'unknown',
    vcpus: Number(info['CPU(s)'] ?? '0'),
    memoryKiB: kib(info['Used memory']),
    maxMemoryKiB: kib(info['Max memory']),
    persistent: info['Persistent'] === 'yes',
    autostart: info['Autostart'] === 'enable',
    id: info['Id'] ?? '-',
  };
}

/** Mark whether commands can name the domain. */
function addressing<T extends { name: string }>(
  summary: T,
): T & { addressable: boolean; unaddressable?: string } {
  try {
    checkName('vm', summary.name);
    return { ...summary, addressable: true };
  } catch (error) {
    if (!(error instanceof VirshArgError)) throw error;
    return { ...summary, addressable: false, unaddressable: error.message };
  }
}

/** First id of regular (non-system) accounts, as in Debian's and Fedora's login.defs. */
export const FIRST_REGULAR_ID = 1000;
const NOBODY_ID = 65534;

/**
 * Names from `getent passwd|group` output whose id (field `idField`) is a regular account's:
 * within `range` (default: from FIRST_REGULAR_ID up), never nobody or the (u)int32 -1/-2 ids.
 */
export function regularAccounts(
  getent: string,
  idField: number,
  range: { min: number; max: number } = { min: FIRST_REGULAR_ID, max: 4_294_967_293 },
): string[] {
  const names: string[] = [];
  for (const line of getent.split('\n')) {
    const fields = line.split(':');
    const id = Number(fields[idField]);
    const name = fields[0] ?? '';
    if (name === '' || !Number.isInteger(id)) continue;
    if (id < range.min || id > range.max || id === NOBODY_ID || id >= 4_294_967_294) continue;
    names.push(name);
  }
  return [...new Set(names)].sort();
}
