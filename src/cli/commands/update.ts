import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import {
  parseBytes,
  parseRestartPolicy,
  validateRestartPolicy,
  type ResourceUpdate,
  type RestartPolicy,
} from '../../container/index.js';
import type { CliContext } from '../context.js';
import { withDaemonEngine } from '../engine.js';
import { checkedBy, parseRational } from '../flag-values.js';
import { usageErrorText } from '../usage.js';
import { flagValue, toResourceUpdate, updateResourceFlags, type ResourceFlags } from '../resource-flags.js';
import { containerGroup } from './container-shared.js';

interface UpdateFlags extends ResourceFlags {
  memory?: string;
  cpus?: string;
  restart?: string;
}

/** The flags → Docker's update request; throws the CLI's message when no flag was given. */
export function updateRequest(o: UpdateFlags): { resources: ResourceUpdate; restart?: RestartPolicy } {
  const resources = toResourceUpdate(o);
  if (o.memory !== undefined) resources.Memory = flagValue('-m, --memory', o.memory, parseBytes);
  if (o.cpus !== undefined) {
    const n = Number(o.cpus);
    if (o.cpus.trim() === '' || !Number.isFinite(n))
      throw new WharfError(
        'INVALID_ARGUMENT',
        `invalid argument "${o.cpus}" for "--cpus" flag: failed to parse ${o.cpus} as a rational number`,
      );
    resources.NanoCpus = Math.round(n * 1e9);
  }
  if (Object.keys(resources).length === 0 && o.restart === undefined)
    throw new WharfError('INVALID_ARGUMENT', 'you must provide one or more flags when using this command');
  return { resources, ...(o.restart !== undefined ? { restart: parseRestartPolicy(o.restart) } : {}) };
}

function updateVerb(parent: Command, ctx: CliContext): void {
  updateResourceFlags(
    parent
      .command('update')
      .description('Update configuration of one or more containers')
      .argument('<CONTAINER...>')
      .option('-m, --memory <bytes>', 'Memory limit', checkedBy(parseBytes))
      .option('--cpus <decimal>', 'Number of CPUs', checkedBy(parseRational))
      .option('--restart <string>', 'Restart policy to apply when a container exits'),
  ).action(async (names: string[], o: UpdateFlags, cmd: Command) => {
    // The CLI's own refusals come before the engine opens: a bad flag value exits 125 with the usage (pflag), the
    // others 1 with the message alone, as docker update prints them.
    let req: ReturnType<typeof updateRequest>;
    try {
      req = updateRequest(o);
    } catch (err) {
      if (!(err instanceof WharfError)) throw err;
      const flagError = err.message.startsWith('invalid argument "');
      ctx.stderr.write(flagError ? usageErrorText(err.message, cmd, []) : `${err.message}\n`);
      ctx.setExitCode(flagError ? 125 : 1);
      return;
    }
    await withDaemonEngine(ctx, async (w) => {
      // As the docker CLI: each container's name on success, the warnings after them, then every error at once.
      const warnings: string[] = [];
      const errors: string[] = [];
      for (const n of names) {
        try {
          const restartPolicy = req.restart ? validateRestartPolicy(req.restart) : undefined;
          const r = await w.containers.update(n, req.resources, restartPolicy ? { restartPolicy } : {});
          warnings.push(...r.warnings);
          ctx.stdout.write(`${n}\n`);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (warnings.length) ctx.stdout.write(`${warnings.join('\n')}\n`);
      if (errors.length) {
        for (const e of errors) ctx.stderr.write(`Error response from daemon: ${e}\n`);
        ctx.setExitCode(1);
      }
    });
  });
}

/** `update` and `container update`. */
export function register(program: Command, ctx: CliContext): void {
  updateVerb(program, ctx);
  updateVerb(containerGroup(program), ctx);
}
