/**
 * How a request is decided, in words for people: the generated command reference carries it, so
 * that the docs describe the judge as it is (src/auth/judge.ts is the code this text explains).
 */
export const HOW_PERMISSIONS_ARE_DECIDED: readonly string[] = [
  '## How permissions are decided',
  '',
  'Every command is judged once, on the invocation as it will run: the pipeline first finds the host of',
  'every VM the command names (a VM on two hosts needs `host=`; a host that cannot be asked is named in',
  'the answer), then the judge decides; `permissions check USER "COMMAND"` runs the same stages and the',
  'same judge. A `confirm CODE` finds the VM again and judges it again.',
  '',
  '1. **The grant.** Of the matching `allow`/`deny` rules, the most specific decides (more conditions,',
  '   then more literal text; on a tie, `deny`). A deciding `deny` is final. Without such a rule, the',
  "   person's roles decide (the most specific matching glob; `!glob` denies; on a tie, deny), then",
  "   per-VM access (the person's system account or group is in the VM's `<access>`, for the",
  '   permissions `vmAccess.permissions` lists — never `vm.delete`, `vm.users.*`, `vm.groups.*`).',
  '   Nothing grants: no.',
  '2. **Required roles add up.** Every matching `require-role` rule must be met. Such a rule requires; it',
  '   never grants by itself.',
  '3. **Approvals add up.** Every matching `require-approval` rule asks for an approval by a holder of',
  '   one of its approver roles (rules naming the same approvers share one approval); with `roles`, it',
  '   also requires one of those roles of the requester. No more specific rule drops an approval.',
  '4. **Host resources need a role.** A grant from per-VM access alone never covers `path=` or',
  '   `bridge=`. For everyone, a path must lie inside one of the host’s storage pools or `hosts[].paths`,',
  '   and a bridge must be listed in `hosts[].bridges`.',
  '5. **Confirmation** is asked for destructive commands and for anything under approval: the same',
  '   person, in the same place, before the code lapses; approvers `approve CODE` or `deny CODE` first.',
  '',
  'Fan-out commands (`vm list`, `version`) are judged host by host: they show the hosts the person may',
  'see and say which they left out. `history` shows only records from places, hosts and VMs the asker',
  'may see (private lines to their author and to holders of `history.all`).',
  '',
];
