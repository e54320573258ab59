import { WeightFileError } from './errors.js';
import type { NamedTensor, StateDict } from './types.js';

/**
 * Adds `name` to `dict` as an own property (so names such as `__proto__` from a hostile file can
 * never reach the prototype) and refuses a name that is already present.
 */
export function putTensor(dict: StateDict, name: string, tensor: NamedTensor, where: string): void {
  if (Object.prototype.hasOwnProperty.call(dict, name)) {
    throw new WeightFileError(`${where}: tensor name "${name}" appears twice`);
  }
  Object.defineProperty(dict, name, { value: tensor, enumerable: true, writable: true, configurable: true });
}
