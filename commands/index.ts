/** Every command group virtbot knows. A new module under commands/ is registered here. */
import type { CommandGroup } from '../src/command/spec.js';
import { confirmGroups } from './confirm.js';
import { group as events } from './events.js';
import { group as help } from './help.js';
import { auditGroup, group as history } from './history.js';
import { group as host } from './host.js';
import { group as meeting } from './meeting.js';
import { group as network } from './network.js';
import { group as permissions } from './permissions.js';
import { taskGroup, tasksGroup } from './tasks.js';
import { group as template } from './template.js';
import { group as version } from './version.js';
import { group as vm } from './vm.js';
import { group as whoami } from './whoami.js';

export function allGroups(): CommandGroup[] {
  return [
    help,
    vm,
    host,
    network,
    template,
    version,
    ...confirmGroups,
    whoami,
    permissions,
    history,
    auditGroup,
    meeting,
    events,
    tasksGroup,
    taskGroup,
  ];
}
