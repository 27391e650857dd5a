import { humanSize } from '../util/index.js';
/** The build context size as the classic builder prints it: go-units with four significant digits, `3.072kB`. */
export function humanContextSize(bytes: number): string {
  return humanSize(bytes, 4);
}
