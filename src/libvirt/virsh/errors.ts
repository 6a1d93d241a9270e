/**
 * Plain-language errors: what a person in chat reads when libvirt, virsh or the connection to a
 * host fails. One line, no temporary paths, no QEMU monitor internals.
 *
 * virsh prints every failure as `error: …` lines on stderr: first its own context ("Failed to
 * attach device from FILE", "failed to get domain 'x'"), then libvirt's message. virsh does not
 * print libvirt's error number, but libvirt builds every message from the error code's fixed
 * prefix (virerror.c, `virErrorMsgStrings`: VIR_ERR_NO_DOMAIN → "Domain not found: %s",
 * VIR_ERR_OPERATION_TIMEOUT → "Timed out during operation: %s", …), so the prefix names the
 * code. `libvirtCode` reads it; `plainError` turns code and detail into a sentence, matching
 * English text only inside a code's detail where libvirt gives nothing better.
 */
import { HostKeyError, SshAuthError, SshUnreachableError } from '../ssh/errors.js';
import { VirshConnectionError, VirshError, VirshStartError } from '../virsh-shell.js';

export interface PlainError {
  /** libvirt's code name (VIR_ERR_…), virsh's (VIRSH_…), or virtbot's (HOST_DOWN, TIMEOUT, …). */
  code: string;
  /** One line for chat. */
  message: string;
}

/** libvirt's message prefixes (virerror.c), longest first where one is a prefix of another. */
const PREFIXES: readonly [string, string][] = [
  ['internal error', 'VIR_ERR_INTERNAL_ERROR'],
  ['out of memory', 'VIR_ERR_NO_MEMORY'],
  ['this function is not supported by the connection driver', 'VIR_ERR_NO_SUPPORT'],
  ['no connection driver available for', 'VIR_ERR_NO_CONNECT'],
  ['invalid argument', 'VIR_ERR_INVALID_ARG'],
  ['operation failed', 'VIR_ERR_OPERATION_FAILED'],
  ['XML error', 'VIR_ERR_XML_ERROR'],
  ['operation forbidden', 'VIR_ERR_OPERATION_DENIED'],
  ['Domain not found', 'VIR_ERR_NO_DOMAIN'],
  ['Network not found', 'VIR_ERR_NO_NETWORK'],
  ['invalid MAC address', 'VIR_ERR_INVALID_MAC'],
  ['authentication failed', 'VIR_ERR_AUTH_FAILED'],
  ['Storage pool not found', 'VIR_ERR_NO_STORAGE_POOL'],
  ['Storage volume not found', 'VIR_ERR_NO_STORAGE_VOL'],
  ['Requested operation is not valid', 'VIR_ERR_OPERATION_INVALID'],
  ['Interface not found', 'VIR_ERR_NO_INTERFACE'],
  ['unsupported configuration', 'VIR_ERR_CONFIG_UNSUPPORTED'],
  ['Timed out during operation', 'VIR_ERR_OPERATION_TIMEOUT'],
  ['Hook script execution failed', 'VIR_ERR_HOOK_SCRIPT_FAILED'],
  ['Domain snapshot not found', 'VIR_ERR_NO_DOMAIN_SNAPSHOT'],
  ['argument unsupported', 'VIR_ERR_ARGUMENT_UNSUPPORTED'],
  ['operation aborted', 'VIR_ERR_OPERATION_ABORTED'],
  ['metadata not found', 'VIR_ERR_NO_DOMAIN_METADATA'],
  ['numerical overflow', 'VIR_ERR_OVERFLOW'],
  ['Operation not supported', 'VIR_ERR_OPERATION_UNSUPPORTED'],
  ['Guest agent is not responding', 'VIR_ERR_AGENT_UNRESPONSIVE'],
  ['resource busy', 'VIR_ERR_RESOURCE_BUSY'],
  ['access denied', 'VIR_ERR_ACCESS_DENIED'],
  ['the CPU is incompatible with host CPU', 'VIR_ERR_CPU_INCOMPATIBLE'],
  ['XML document failed to validate against schema', 'VIR_ERR_XML_INVALID_SCHEMA'],
  ['authentication unavailable', 'VIR_ERR_AUTH_UNAVAILABLE'],
  ['device not found', 'VIR_ERR_DEVICE_MISSING'],
  ['SSH transport error', 'VIR_ERR_SSH'],
  ['libssh transport error', 'VIR_ERR_LIBSSH'],
  ['multiple matching domains found', 'VIR_ERR_MULTIPLE_DOMAINS'],
];

/** Codes whose message has no fixed prefix but a fixed shape. */
const SHAPES: readonly [RegExp, string][] = [
  [/^domain (.+) exists already$/, 'VIR_ERR_DOM_EXIST'],
  [/^network (.+) exists already$/, 'VIR_ERR_NETWORK_EXIST'],
  [/^storage volume (.+) exists already$/, 'VIR_ERR_STORAGE_VOL_EXIST'],
  [/^this domain exists already$/, 'VIR_ERR_DOM_EXIST'],
  // VIR_ERR_SYSTEM_ERROR and VIR_ERR_RPC are bare strerror-style messages ("%s").
  [
    /^(Failed to connect socket to|Cannot access storage file|Cannot (open|read|write)|Unable to)\b/,
    'VIR_ERR_SYSTEM_ERROR',
  ],
  [/^(End of file while reading data|Cannot recv data|Cannot write data|Broken pipe)\b/, 'VIR_ERR_RPC'],
];

/** virsh's own messages (tools/virsh*.c), which carry no libvirt code. */
const VIRSH_SHAPES: readonly [RegExp, string][] = [
  [/^failed to get (domain|network|pool|vol|volume|interface) '(.*)'$/i, 'VIRSH_LOOKUP'],
  [/^command '(\S+)' doesn't support option (--\S+)$/, 'VIRSH_UNSUPPORTED_OPTION'],
  [/^unknown command: '(\S+)'$/, 'VIRSH_UNKNOWN_COMMAND'],
  [/^failed to connect to the hypervisor$/, 'VIRSH_CONNECT'],
  [/^Domain(?: '.*')? is already active$/, 'VIRSH_ALREADY_ACTIVE'],
];

/** The libvirt error code a message starts with, and the detail after the prefix. */
export function libvirtCode(message: string): { code: string; detail: string } | undefined {
  for (const [prefix, code] of PREFIXES) {
    if (message === prefix) return { code, detail: '' };
    if (message.startsWith(`${prefix}: `) || message.startsWith(`${prefix} `)) {
      return { code, detail: message.slice(prefix.length).replace(/^:?\s*/, '') };
    }
  }
  for (const [shape, code] of SHAPES) if (shape.test(message)) return { code, detail: message };
  return undefined;
}

/** What a libvirt API call behind a job lock was doing, from its RPC dispatcher's name. */
const DISPATCH: Record<string, string> = {
  DomainAttachDevice: 'attaching a device',
  DomainAttachDeviceFlags: 'attaching a device',
  DomainDetachDevice: 'detaching a device',
  DomainDetachDeviceFlags: 'detaching a device',
  DomainDetachDeviceAlias: 'detaching a device',
  DomainUpdateDeviceFlags: 'updating a device',
  DomainSetVcpus: 'changing its vCPUs',
  DomainSetVcpusFlags: 'changing its vCPUs',
  DomainSetMemory: 'changing its memory',
  DomainSetMemoryFlags: 'changing its memory',
  DomainSetMaxMemory: 'changing its memory',
  DomainSetMetadata: 'changing its metadata',
  DomainCreate: 'starting it',
  DomainCreateWithFlags: 'starting it',
  DomainShutdown: 'shutting it down',
  DomainShutdownFlags: 'shutting it down',
  DomainReboot: 'rebooting it',
  DomainDestroy: 'stopping it',
  DomainDestroyFlags: 'stopping it',
  DomainUndefine: 'deleting it',
  DomainUndefineFlags: 'deleting it',
  DomainSuspend: 'pausing it',
  DomainResume: 'resuming it',
};

/** What a virsh command does, for "while …" in messages (never its arguments: they hold paths). */
const DOING: Record<string, string> = {
  'attach-device': 'attaching a device',
  'detach-device': 'detaching a device',
  'update-device': 'updating a device',
  'attach-interface': 'attaching a NIC',
  'detach-interface': 'detaching a NIC',
  setvcpus: 'changing the vCPUs',
  setmem: 'changing the memory',
  setmaxmem: 'changing the maximum memory',
  metadata: 'changing the metadata',
  define: 'saving the VM’s config',
  undefine: 'deleting the VM',
  start: 'starting the VM',
  shutdown: 'shutting the VM down',
  reboot: 'rebooting the VM',
  destroy: 'stopping the VM',
  'vol-create-as': 'creating a volume',
  'vol-delete': 'deleting a volume',
};

/** "attaching a device" for a virsh command line (or the command name). */
export function doing(commandLine: string | undefined): string {
  const command = commandLine?.trim().split(/\s+/)[0] ?? '';
  return DOING[command] ?? (command === '' ? 'a command' : `\`${command}\``);
}

/** Remove what a person must never see: virtbot's temporary files, QEMU monitor commands. */
export function sanitize(text: string): string {
  return text
    .replace(/\/tmp\/virtbot-[A-Za-z0-9_-]+(\/[^\s'",;:)]*)?/g, 'virtbot’s XML')
    .replace(/unable to execute QEMU command '[^']*':\s*/g, '')
    .replace(/\s*\(held by [^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function quoted(detail: string): string | undefined {
  return /'([^']+)'/.exec(detail)?.[1];
}

/** One line for a libvirt code and its detail. */
function sayLibvirt(code: string, detail: string): string {
  const d = sanitize(detail);
  switch (code) {
    case 'VIR_ERR_NO_DOMAIN':
      return quoted(d) ? `no VM '${quoted(d)}'` : 'no such VM';
    case 'VIR_ERR_NO_NETWORK':
      return quoted(d) ? `no network '${quoted(d)}'` : 'no such network';
    case 'VIR_ERR_NO_STORAGE_POOL':
      return quoted(d) ? `no storage pool '${quoted(d)}'` : 'no such storage pool';
    case 'VIR_ERR_NO_STORAGE_VOL':
      return quoted(d) ? `no storage volume '${quoted(d)}'` : 'no such storage volume';
    case 'VIR_ERR_NO_INTERFACE':
      return 'no such host interface';
    case 'VIR_ERR_DEVICE_MISSING':
      return d ? `the VM has no such device (${d.replace(/ found$/, '')})` : 'the VM has no such device';
    case 'VIR_ERR_DOM_EXIST': {
      const name = /^domain (.+) exists already$/.exec(d)?.[1];
      return name ? `a VM named ${name} already exists` : 'a VM of that name already exists';
    }
    case 'VIR_ERR_STORAGE_VOL_EXIST':
      return `a volume of that name already exists${quoted(d) ? ` (${quoted(d)})` : ''}`;
    case 'VIR_ERR_NETWORK_EXIST':
      return 'a network of that name already exists';
    case 'VIR_ERR_OPERATION_TIMEOUT': {
      const holder = /held by (?:monitor|agent|async)=remoteDispatch(\w+)/.exec(detail)?.[1];
      if (/cannot acquire state change lock/.test(detail)) {
        const what = holder !== undefined ? DISPATCH[holder] : undefined;
        return `libvirt is still busy with another change to this VM${what ? ` (${what})` : ''}; try again when it has finished`;
      }
      return `libvirt timed out${d ? `: ${d}` : ''}`;
    }
    case 'VIR_ERR_OPERATION_INVALID':
      if (/domain is not running/.test(d)) return 'the VM is not running';
      if (/domain is already running/.test(d)) return 'the VM is already running';
      if (/transient domain/.test(d))
        return 'the VM is transient: it has no config, and it is gone once stopped';
      return `libvirt refused: ${d}`;
    case 'VIR_ERR_CONFIG_UNSUPPORTED': {
      const limit = /Maximum CPUs greater than specified machine type limit (\d+)/.exec(d)?.[1];
      if (limit) return `the VM's machine type allows at most ${limit} vCPUs`;
      return `the host cannot do that: ${d}`;
    }
    case 'VIR_ERR_INVALID_ARG': {
      const vcpus =
        /requested vcpus is greater than max allowable vcpus for the (?:live|persistent) domain: (\d+) > (\d+)/.exec(
          d,
        );
      if (vcpus) return `at most ${vcpus[2]} vCPUs (asked for ${vcpus[1]})`;
      return `libvirt refused a value: ${d}`;
    }
    case 'VIR_ERR_NO_SUPPORT':
      return 'libvirt’s driver on this host cannot do that';
    case 'VIR_ERR_OPERATION_UNSUPPORTED':
    case 'VIR_ERR_ARGUMENT_UNSUPPORTED':
      return `not supported on this host${d ? `: ${d}` : ''}`;
    case 'VIR_ERR_NO_CONNECT':
      return `libvirt on the host has no driver for ${d || 'that URI'}`;
    case 'VIR_ERR_OPERATION_FAILED': {
      const exists = /domain '([^']+)' already exists/.exec(d)?.[1];
      if (exists) return `a VM named ${exists} already exists`;
      const target = /target (\S+) already exists/.exec(d)?.[1];
      if (target) return `the VM already has a device at ${target}`;
      return `libvirt could not do it: ${d}`;
    }
    case 'VIR_ERR_AUTH_FAILED':
    case 'VIR_ERR_AUTH_UNAVAILABLE':
      return `libvirt refused virtbot's login${d ? `: ${d}` : ''}`;
    case 'VIR_ERR_ACCESS_DENIED':
    case 'VIR_ERR_OPERATION_DENIED':
      return 'libvirt does not allow virtbot’s account to do that';
    case 'VIR_ERR_SYSTEM_ERROR':
      if (/Failed to connect socket to/.test(d))
        return 'libvirtd is not running on the host (its socket cannot be reached)';
      if (/No space left on device/.test(d)) return 'the host is out of disk space';
      if (/Cannot access storage file/.test(d))
        return `a disk image does not exist or cannot be read${quoted(d) ? ` (${quoted(d)})` : ''}`;
      if (/Permission denied/.test(d))
        return `permission denied on the host${quoted(d) ? ` (${quoted(d)})` : ''}`;
      return d;
    case 'VIR_ERR_RPC':
      return 'the connection to libvirtd was lost';
    case 'VIR_ERR_INTERNAL_ERROR':
      if (/QEMU command|monitor/.test(detail)) return 'the hypervisor (QEMU) refused the change';
      if (/process exited while connecting to monitor/.test(detail)) return 'QEMU failed to start the VM';
      return `libvirt reported an internal error: ${d}`;
    case 'VIR_ERR_XML_ERROR':
    case 'VIR_ERR_XML_INVALID_SCHEMA':
      return `libvirt rejected the XML${d ? `: ${d}` : ''}`;
    case 'VIR_ERR_AGENT_UNRESPONSIVE':
      return 'the guest agent is not responding (is qemu-guest-agent running in the VM?)';
    case 'VIR_ERR_RESOURCE_BUSY':
      return `busy: ${d}`;
    case 'VIR_ERR_NO_DOMAIN_METADATA':
      return 'the VM has no such metadata';
    case 'VIR_ERR_OVERFLOW':
      return `a value is too large${d ? `: ${d}` : ''}`;
    case 'VIR_ERR_NO_MEMORY':
      return 'libvirt ran out of memory on the host';
    case 'VIR_ERR_INVALID_MAC':
      return `not a valid MAC address${d ? `: ${d}` : ''}`;
    case 'VIR_ERR_CPU_INCOMPATIBLE':
      return 'the VM’s CPU model is not compatible with the host’s CPU';
    default:
      return d;
  }
}

/** The lines of a virsh error: virsh's stderr `error:` lines, or the joined message. */
function errorLinesOf(error: VirshError): string[] {
  const lines = error.stderr
    .split('\n')
    .filter((l) => l.startsWith('error: '))
    .map((l) => l.slice('error: '.length).trim())
    .filter((l) => l !== '');
  return lines.length > 0 ? lines : [error.message];
}

function plainVirsh(error: VirshError): PlainError {
  const lines = errorLinesOf(error);
  for (const line of lines) {
    const known = libvirtCode(line);
    if (known) return { code: known.code, message: sayLibvirt(known.code, known.detail) };
  }
  for (const line of lines) {
    for (const [shape, code] of VIRSH_SHAPES) {
      const m = shape.exec(line);
      if (!m) continue;
      if (code === 'VIRSH_LOOKUP') return { code, message: `no ${m[1]!.toLowerCase()} '${m[2]}'` };
      if (code === 'VIRSH_UNSUPPORTED_OPTION')
        return { code, message: `virsh on the host is too old for that (${m[1]} has no ${m[2]})` };
      if (code === 'VIRSH_UNKNOWN_COMMAND')
        return { code, message: `virsh on the host is too old for that (no command ${m[1]})` };
      if (code === 'VIRSH_ALREADY_ACTIVE') return { code, message: 'the VM is already running' };
      return { code, message: 'virsh cannot connect to libvirt on the host' };
    }
  }
  // virsh's context lines ("Failed to attach device from FILE") say nothing libvirt's did not.
  const meaningful = lines.filter((l) => !/^Failed to .* from \//.test(l));
  return { code: 'VIRSH_ERROR', message: sanitize((meaningful.length > 0 ? meaningful : lines).join(': ')) };
}

/** A virtbot error class that already speaks plainly. */
export interface Plain {
  plain(): PlainError;
}

function isPlain(error: unknown): error is Plain {
  return typeof error === 'object' && error !== null && typeof (error as Partial<Plain>).plain === 'function';
}

/** Every error in the `cause` chain, outermost first. */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && out.length < 8; ) {
    out.push(e);
    e = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  }
  return out;
}

/**
 * The one-line message and code for any error the libvirt layer throws. Errors that are not the
 * libvirt layer's come back with code UNKNOWN and their message, sanitized.
 */
export function plainError(error: unknown): PlainError {
  const chain = causes(error);
  for (const e of chain) if (isPlain(e)) return e.plain();
  for (const e of chain) {
    if (e instanceof SshAuthError) return { code: 'SSH_AUTH', message: e.message };
    if (e instanceof HostKeyError) return { code: 'SSH_HOST_KEY', message: e.message };
    if (e instanceof SshUnreachableError) return { code: 'SSH_UNREACHABLE', message: e.message };
  }
  if (error instanceof VirshError) return plainVirsh(error);
  if (error instanceof VirshStartError) {
    const cannot = /cannot connect: (.*)$/.exec(error.message)?.[1];
    if (cannot) {
      const known = libvirtCode(cannot.split(': ').slice(1).join(': ')) ?? libvirtCode(cannot);
      return {
        code: 'CONNECT',
        message: `virsh cannot connect to libvirt on the host: ${known ? sayLibvirt(known.code, known.detail) : sanitize(cannot)}`,
      };
    }
    return { code: 'CONNECT', message: sanitize(error.message) };
  }
  if (error instanceof VirshConnectionError) {
    const m = error.message;
    const seconds = /within (\d+) s/.exec(m)?.[1];
    const what = doing(error.command);
    if (seconds !== undefined)
      return {
        code: 'TIMEOUT',
        message: `no answer within ${seconds} s while ${what}; it may still happen (outcome unknown)`,
      };
    if (error.command !== undefined)
      return { code: 'CONNECTION_LOST', message: `the connection dropped while ${what}; outcome unknown` };
    return { code: 'CONNECTION_LOST', message: sanitize(m) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'UNKNOWN', message: sanitize(message) };
}
