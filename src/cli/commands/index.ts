import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { register as build } from './build.js';
import { register as images } from './images.js';
import { register as inspect } from './inspect.js';
import { register as registryClient } from './registry-client.js';
import { register as system } from './system.js';
import { register as containers } from './containers.js';
import { register as containerInfo } from './container-info.js';
import { register as volumes } from './volumes.js';
import { register as containerOps } from './container-ops.js';
import { register as registry } from './registry.js';

/** Every verb module exports `register(program, ctx)`; they are listed here once. */
export function registerAll(program: Command, ctx: CliContext): void {
  build(program, ctx);
  images(program, ctx);
  inspect(program, ctx);
  registryClient(program, ctx);
  system(program, ctx);
  containers(program, ctx);
  containerInfo(program, ctx);
  volumes(program, ctx);
  containerOps(program, ctx);
  registry(program, ctx);
}
