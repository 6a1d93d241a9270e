/** Every command group virtbot knows. A new module under commands/ is registered here. */
import type { CommandGroup } from '../src/command/spec.js';
import { cancelGroup, confirmGroup } from './confirm.js';
import { group as help } from './help.js';
import { group as vm } from './vm.js';

export function allGroups(): CommandGroup[] {
  return [help, vm, confirmGroup, cancelGroup];
}
