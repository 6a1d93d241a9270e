/**
 * The hypervisors virtbot can reach, built from the validated config. Commands receive a
 * HostRegistry in their context and know nothing of SSH or virsh processes. Sessions start at
 * `connectAll()` (start-up) or on a host's first command, and stay open; a host that cannot be
 * reached is `down` (health.ts) and answers at once until a background try reconnects it.
 */
import type { HostConfig, TemplateConfig } from '../config/sections/hosts.js';
import { type HostBackend, LocalBackend } from './backend.js';
import type { HealthOptions, HostHealthView } from './health.js';
import { Hypervisor } from './hypervisor.js';
import { SshBackend } from './ssh.js';

export interface HostRegistryOptions {
  /** Per-command timeout for virsh (ms). Default 60 s. */
  timeoutMs?: number;
  /** Builds a host's backend instead of the local/SSH default (tests). */
  backend?: (host: HostConfig) => HostBackend;
  virshPath?: string;
  /** The circuit breaker's backoff per host (see health.ts). */
  health?: HealthOptions;
}

export class UnknownHostError extends Error {
  constructor(name: string, known: readonly string[]) {
    super(`unknown host '${name}' (hosts: ${known.join(', ')})`);
    this.name = 'UnknownHostError';
  }
}

export class HostRegistry {
  private readonly hosts: HostConfig[];
  private readonly templateList: TemplateConfig[];
  private readonly live = new Map<string, Hypervisor>();
  /** VM name → the host it was last found on (see `placeOf`). */
  private readonly placement = new Map<string, string>();

  constructor(
    config: { hosts: readonly HostConfig[]; templates?: readonly TemplateConfig[] },
    private readonly options: HostRegistryOptions = {},
  ) {
    if (config.hosts.length === 0) throw new Error('at least one host must be configured');
    this.hosts = [...config.hosts];
    this.templateList = [...(config.templates ?? [])];
  }

  /** Configured host names, in config order. */
  names(): string[] {
    return this.hosts.map((h) => h.name);
  }

  /** The default host (the first configured). */
  defaultHost(): string {
    return this.hosts[0]!.name;
  }

  config(name?: string): HostConfig {
    const wanted = name ?? this.defaultHost();
    const host = this.hosts.find((h) => h.name === wanted);
    if (!host) throw new UnknownHostError(wanted, this.names());
    return host;
  }

  /** The hypervisor for a host (the default one when no name is given). */
  get(name?: string): Hypervisor {
    const host = this.config(name);
    let hv = this.live.get(host.name);
    if (!hv) {
      hv = new Hypervisor(host.name, host.uri, this.backendFor(host), (_host, vm) => this.forgetPlace(vm), {
        ...(host.accounts !== undefined ? { accounts: host.accounts } : {}),
        ...(host.metadata !== undefined ? { metadata: host.metadata } : {}),
        ...(this.options.health !== undefined ? { health: this.options.health } : {}),
      });
      this.live.set(host.name, hv);
    }
    return hv;
  }

  /**
   * The host a VM was last found on, if known. Only a hint: it is dropped whenever a command on
   * that host finds no such domain, and when a domain of that name is defined, undefined,
   * destroyed or shut down on any host; a caller that acts on it must still handle "no such
   * domain" (see `isDomainNotFound`).
   */
  placeOf(vm: string): string | undefined {
    return this.placement.get(vm);
  }

  /** Remember where a VM was found. */
  rememberPlace(vm: string, host: string): void {
    this.placement.set(vm, host);
  }

  /** Forget where a VM is (every VM when no name is given). */
  forgetPlace(vm?: string): void {
    if (vm === undefined) this.placement.clear();
    else this.placement.delete(vm);
  }

  /**
   * Connect every host now (at start-up, so that no command pays for it), all at once. Never
   * throws: a host that cannot be reached is marked down and retried in the background.
   */
  connectAll(): Promise<HostHealthView[]> {
    return Promise.all(this.names().map((name) => this.get(name).connect()));
  }

  /** Each host's health: up, down since … (next try …, why), or idle (not contacted yet). */
  health(): HostHealthView[] {
    return this.names().map((name) => this.live.get(name)?.health() ?? { host: name, state: 'idle' });
  }

  templates(): TemplateConfig[] {
    return [...this.templateList];
  }

  template(name: string): TemplateConfig | undefined {
    return this.templateList.find((t) => t.name === name);
  }

  /** Close every session. */
  async close(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    this.placement.clear();
    await Promise.allSettled(all.map((hv) => hv.close()));
  }

  private backendFor(host: HostConfig): HostBackend {
    if (this.options.backend) return this.options.backend(host);
    const timeout = this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {};
    // No backoff inside the session: the host's circuit breaker decides when to try again.
    if (host.ssh) return new SshBackend(host, { ...timeout, backoffMs: 0 });
    return new LocalBackend({
      host: host.name,
      uri: host.uri,
      ...timeout,
      ...(this.options.virshPath !== undefined ? { virshPath: this.options.virshPath } : {}),
    });
  }
}
