/** `vm nic list|add|update|remove`: a VM's network interfaces. */
import { CommandError, type CommandSpec } from '../src/command/spec.js';
import { type Applied, appliedNote, applyDevice, configEdits, domainState } from '../src/libvirt/changes.js';
import { chooseDiskBus, chooseNicModel, NIC_MODELS } from '../src/libvirt/choose.js';
import { describeNic, type NicInfo, nicElement, randomMac } from '../src/libvirt/domain.js';
import type { Hypervisor } from '../src/libvirt/hypervisor.js';
import { checkNetwork, networkActive } from '../src/libvirt/limits.js';
import { child, el, type XmlElement } from '../src/libvirt/xml.js';
import { arg, atLeastOne, defineVmCommand, notBoth } from '../src/pipeline/define.js';
import { settlesOf } from './vm-changes.js';
import { hostArg, plural, vmArg } from './vm-common.js';

const macArg = () => arg.mac('the NIC’s MAC address').positional().required();
const modelArg = () =>
  arg.choice(NIC_MODELS, 'NIC model (default: the one stored for the VM, else chosen from its OS and arch)');

/** The VM's NICs as configured and, when it runs, as live; each NIC once, by MAC. */
async function nicsOf(hv: Hypervisor, vm: string): Promise<{ nic: NicInfo; where: string }[]> {
  const state = await domainState(hv, vm);
  const config = state.persistent ? (await hv.domain(vm, { inactive: true })).nics : [];
  const live = state.running ? (await hv.domain(vm)).nics : [];
  const out: { nic: NicInfo; where: string }[] = [];
  for (const nic of live) {
    const inConfig = !state.persistent || config.some((c) => c.mac === nic.mac);
    out.push({ nic, where: inConfig ? '' : 'live only, gone at the next boot' });
  }
  for (const nic of config) {
    if (state.running && !live.some((l) => l.mac === nic.mac)) out.push({ nic, where: 'from the next boot' });
    else if (!state.running) out.push({ nic, where: '' });
  }
  return out;
}

const nicList = defineVmCommand({
  path: ['vm', 'nic', 'list'],
  summary: 'list a VM’s network interfaces (MAC, network or bridge, model)',
  args: { vm: vmArg(), host: hostArg() },
  examples: [{ input: 'vm nic list test', reply: 'aa:bb:cc:dd:ee:ff (network default' }],
  async run({ ctx }) {
    const { hv, vm } = ctx;
    const nics = await nicsOf(hv, vm);
    const brief = ({ nic, where }: { nic: NicInfo; where: string }) =>
      `${nic.mac} (${nic.type} ${nic.source}, ${nic.model ?? 'default model'}${where ? `, ${where}` : ''})`;
    const reply =
      nics.length === 0
        ? `${vm} has no NICs`
        : `${vm} has ${plural(nics.length, 'NIC')}: ${nics.map(brief).join(', ')}`;
    const lines = nics.map(({ nic, where }) => `${describeNic(nic)}${where ? ` (${where})` : ''}`);
    return { reply, lines, detail: `List network interfaces of guest '${vm}'` };
  },
});

const nicAdd = defineVmCommand({
  path: ['vm', 'nic', 'add'],
  summary: 'add a NIC on a network (or a host bridge the host lists); hotplugged when the VM runs',
  args: {
    vm: vmArg(),
    network: arg.network('libvirt network to connect (default: default)'),
    bridge: arg.bridge('host bridge to connect instead of a network (one the host config lists)'),
    model: modelArg(),
    mac: arg.mac('MAC address (default: a random 52:54:00:… one)'),
    host: hostArg(),
  },
  constraints: [notBoth('network', 'bridge')],
  mutates: true,
  examples: [
    { input: 'vm nic add test network=default mac=52:54:00:12:34:56', reply: 'added NIC 52:54:00:12:34:56' },
    {
      input: 'vm nic add test network=default model=e1000',
      reply: /added NIC 52:54:00(:[0-9a-f]{2}){3} \(e1000\)/,
    },
    { input: 'vm nic add test network=default bridge=br0', reply: 'give network= or bridge=, not both' },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { bridge } = args;
    const network = bridge === undefined ? (args.network ?? 'default') : undefined;
    // The network must exist and be up: an inactive 'default' would make the next start fail.
    if (network !== undefined) {
      const refusal = checkNetwork(network, await networkActive(hv, network));
      if (refusal !== undefined) throw new CommandError(refusal.replace('this host', `host ${hv.name}`));
    }
    const state = await domainState(hv, vm);
    const view = await hv.domain(vm, { inactive: state.persistent });
    const liveView = state.running && state.persistent ? await hv.domain(vm) : view;
    const taken = [...view.nics, ...liveView.nics].map((n) => n.mac);
    if (args.mac !== undefined && taken.includes(args.mac)) {
      throw new CommandError(`${vm} already has a NIC with MAC ${args.mac}`);
    }
    const mac = args.mac ?? randomMac(taken);
    const model = chooseNicModel(view, args.model);
    const device = nicElement({
      ...(bridge !== undefined ? { bridge } : { network: network! }),
      mac,
      model: model.value,
    });
    // Remember the model chosen for this VM, so later NICs match even after all were removed
    // (an edit safe against other virtbot processes and an admin's virsh). Stored before the
    // attach: the choice belongs to the VM whatever becomes of this NIC, and an attach still in
    // progress holds libvirt's job, which a metadata edit after it would wait on and fail.
    if (model.reason !== 'named' && view.metadata.nicModel === undefined && state.persistent) {
      const diskBus = chooseDiskBus(view).value;
      await hv.updateMetadata(vm, () => ({ nicModel: model.value, diskBus }), {
        scope: { live: false, config: true },
      });
    }
    const applied = await applyDevice(hv, vm, state, 'attach', device, configEdits.attach(device), () =>
      hasNic(hv, vm, mac, state.persistent),
    );
    const source = bridge !== undefined ? `bridge ${bridge}` : `network ${network}`;
    return {
      reply: `added NIC ${mac} (${model.value}) on ${source} to ${vm}, ${appliedNote(applied)}`,
      detail: `Attach network interface '${bridge ?? network}' (${mac}, ${model.value}: ${model.reason}) to guest '${vm}'`,
      ...settlesOf(applied),
    };
  },
});

function matchMac(mac: string) {
  return (e: XmlElement) =>
    e.name === 'interface' && child(e, 'mac')?.attrs['address']?.toLowerCase() === mac;
}

/** Does the VM's config (or, when transient, the running VM) have a NIC with this MAC? */
async function hasNic(hv: Hypervisor, vm: string, mac: string, persistent: boolean): Promise<boolean> {
  return (await hv.domain(vm, { inactive: persistent })).nics.some((n) => n.mac === mac);
}

/** Find a NIC by MAC in the config (when persistent) or the live XML. */
async function findNic(hv: Hypervisor, vm: string, mac: string, inactive: boolean): Promise<NicInfo> {
  const view = await hv.domain(vm, { inactive });
  const nic = view.nics.find((n) => n.mac === mac);
  if (!nic) throw new CommandError(`${vm} has no NIC with MAC ${mac} (see 'vm nic list ${vm}')`);
  return nic;
}

const nicUpdate = defineVmCommand({
  path: ['vm', 'nic', 'update'],
  summary: 'move a NIC to another network or bridge, or change its model (model only while the VM is off)',
  args: {
    vm: vmArg(),
    mac: macArg(),
    network: arg.network('the new network'),
    bridge: arg.bridge('the new bridge (one the host config lists)'),
    model: modelArg(),
    host: hostArg(),
  },
  constraints: [notBoth('network', 'bridge'), atLeastOne('network', 'bridge', 'model')],
  mutates: true,
  examples: [
    {
      input: 'vm nic update test aa:bb:cc:dd:ee:ff network=default',
      reply: 'NIC aa:bb:cc:dd:ee:ff of test now on network default',
    },
    {
      input: 'vm nic update test aa:bb:cc:dd:ee:ff',
      reply: 'give at least one of network=, bridge=, model=',
    },
  ],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { mac, network, bridge, model } = args;
    const state = await domainState(hv, vm);
    if (model !== undefined && state.running) {
      throw new CommandError(`the model of a NIC can only change while ${vm} is off (it is running)`);
    }
    if (network !== undefined) {
      const refusal = checkNetwork(network, await networkActive(hv, network));
      if (refusal !== undefined) throw new CommandError(refusal.replace('this host', `host ${hv.name}`));
    }
    const nic = await findNic(hv, vm, mac, state.persistent);
    const updated = structuredClone(nic.element);
    if (network !== undefined || bridge !== undefined) {
      updated.attrs['type'] = bridge !== undefined ? 'bridge' : 'network';
      const source = el('source', bridge !== undefined ? { bridge } : { network: network! });
      const old = child(updated, 'source');
      if (old) updated.children[updated.children.indexOf(old)] = source;
      else updated.children.push(source);
    }
    if (model !== undefined) {
      const old = child(updated, 'model');
      const element = el('model', { type: model });
      if (old) updated.children[updated.children.indexOf(old)] = element;
      else updated.children.push(element);
    }
    // libvirt-generated live-only parts must not be sent back.
    updated.children = updated.children.filter(
      (c) => !('name' in c) || !['target', 'alias'].includes(c.name),
    );
    const applied = await applyDevice(
      hv,
      vm,
      state,
      'update',
      updated,
      configEdits.update(matchMac(mac), updated),
    );
    const changes: string[] = [];
    if (network !== undefined) changes.push(`on network ${network}`);
    if (bridge !== undefined) changes.push(`on bridge ${bridge}`);
    if (model !== undefined) changes.push(`model ${model}`);
    return {
      reply: `NIC ${mac} of ${vm} now ${changes.join(', ')}, ${appliedNote(applied)}`,
      detail: `Update network interface '${mac}' of guest '${vm}': ${changes.join(', ')}`,
      ...settlesOf(applied),
    };
  },
});

const nicRemove = defineVmCommand({
  path: ['vm', 'nic', 'remove'],
  summary: 'remove a NIC by MAC address (unplugged when the VM runs)',
  args: { vm: vmArg(), mac: macArg(), host: hostArg() },
  destructive: true,
  examples: [{ input: 'vm nic remove test aa:bb:cc:dd:ee:ff', reply: 'is destructive' }],
  async run({ args, ctx }) {
    const { hv, vm } = ctx;
    const { mac } = args;
    let state = await domainState(hv, vm);
    let nic = state.running ? (await hv.domain(vm)).nics.find((n) => n.mac === mac) : undefined;
    if (!nic) {
      // Not (or not yet) in the running VM: a config-only change.
      nic = await findNic(hv, vm, mac, state.persistent);
      if (state.running) state = { running: false, persistent: true };
    }
    const applied: Applied = await applyDevice(
      hv,
      vm,
      state,
      'detach',
      nic.element,
      configEdits.detach(matchMac(mac)),
      async () => !(await hasNic(hv, vm, mac, state.persistent)),
    );
    // A guest that has not released the NIC yet: in progress, said again when it has (or not).
    return {
      reply: `removed NIC ${mac} from ${vm}, ${appliedNote(applied)}`,
      detail: `Detach network interface '${nic.source}' (${mac}) from guest '${vm}'`,
      ...settlesOf(applied),
    };
  },
});

export const nicCommands: CommandSpec[] = [nicList, nicAdd, nicUpdate, nicRemove];
