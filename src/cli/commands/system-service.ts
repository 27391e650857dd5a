import type { Command } from 'commander';
import * as path from 'node:path';
import { WharfError } from '../../errors/index.js';
import { Wharf } from '../../engine/index.js';
import type { CliContext } from '../context.js';
import { wharfVersion } from '../version.js';
import { remoteOptionsFor } from './registry-client.js';
import { engineSettings } from '../engine.js';
import { systemGroup } from './system-group.js';

/** `system service [--time SECONDS] [URI]`: the Docker Engine API (src/api/, docs/engine-api.md). */
export function register(program: Command, ctx: CliContext): void {
  systemGroup(program)
    .command('service')
    .description('Serve the Docker Engine API (DOCKER_HOST=unix:///run/wharf/wharf.sock)')
    .argument('[URI]', 'unix:///path or tcp://host:port (default unix://<run root>/wharf.sock)')
    .option('-t, --time <seconds>', 'Exit after this many idle seconds (0: serve until stopped)', '5')
    .option('--insecure-tcp', 'Allow a TCP address without TLS (anyone who reaches it is root on this host)')
    .action(async (uri: string | undefined, o: { time: string; insecureTcp?: boolean }) => {
      const idleSeconds = Number(o.time);
      if (!Number.isInteger(idleSeconds) || idleSeconds < 0)
        throw new WharfError('INVALID_ARGUMENT', `invalid argument "${o.time}" for "--time" flag`);
      // Loaded here: the API's modules cost nothing to other `system` verbs.
      const { parseListenUri, serveApi } = await import('../../api/index.js');
      const g = ctx.globals();
      const address = parseListenUri(uri ?? `unix://${path.join(g.runRoot, 'wharf.sock')}`);
      if (address.kind === 'tcp') {
        if (!o.insecureTcp)
          throw new WharfError(
            'INVALID_ARGUMENT',
            `refusing to serve the API on ${uri} without TLS (TLS is not supported yet; --insecure-tcp serves it in the clear)`,
          );
        ctx.stderr.write(
          `WARNING: serving the API on ${uri} without TLS: anyone who can reach it can run privileged containers.\n`,
        );
      }
      const w = await Wharf.open({
        root: g.root,
        runRoot: g.runRoot,
        registries: remoteOptionsFor('', {}),
        ...engineSettings(),
      });
      try {
        const api = await serveApi(w, {
          address,
          idleSeconds,
          version: wharfVersion(),
          insecureRegistries: remoteOptionsFor('', {}).insecureRegistries ?? [],
          log: (line) => ctx.stderr.write(`${line}\n`),
        });
        const stop = () => void api.close();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        try {
          await api.stopped;
        } finally {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        }
      } finally {
        w.close();
      }
    });
}
