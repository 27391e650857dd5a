import type { Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { WharfError } from '../../errors/index.js';
import { Wharf } from '../../engine/index.js';
import type { CliContext } from '../context.js';
import { wharfVersion } from '../version.js';
import { remoteOptionsFor } from './registry-client.js';
import { engineSettings } from '../engine.js';
import { systemGroup } from './system-group.js';

interface ServiceFlags {
  time: string;
  insecureTcp?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** `system service [--time SECONDS] [URI]`: the Docker Engine API (src/api/, docs/engine-api.md). */
export function register(program: Command, ctx: CliContext): void {
  systemGroup(program)
    .command('service')
    .description('Serve the Docker Engine API (DOCKER_HOST=unix:///run/wharf/wharf.sock)')
    .argument('[URI]', 'unix:///path, tcp://host:port or fd:// (default unix://<run root>/wharf.sock)')
    .option('-t, --time <seconds>', 'Exit after this many idle seconds (0: serve until stopped)', '5')
    .option('--insecure-tcp', 'Allow a TCP address without TLS (anyone who reaches it is root on this host)')
    .option('--tlsverify', 'Serve TLS and accept only clients with a certificate signed by --tlscacert')
    .option('--tlscacert <file>', 'Trust certs signed only by this CA (default $DOCKER_CERT_PATH/ca.pem)')
    .option('--tlscert <file>', "Path to the server's TLS certificate (default $DOCKER_CERT_PATH/cert.pem)")
    .option('--tlskey <file>', "Path to the server's TLS key (default $DOCKER_CERT_PATH/key.pem)")
    .action(async (uri: string | undefined, o: ServiceFlags) => {
      const idleSeconds = Number(o.time);
      if (!Number.isInteger(idleSeconds) || idleSeconds < 0)
        throw new WharfError('INVALID_ARGUMENT', `invalid argument "${o.time}" for "--time" flag`);
      // Loaded here: the API's modules cost nothing to other `system` verbs.
      const { parseListenUri, serveApi, readTlsConfig, inheritedListenFds } = await import('../../api/index.js');
      const g = ctx.globals();
      // Started by systemd's socket activation without a URI: the socket it passed (as dockerd's -H fd://).
      const dflt =
        inheritedListenFds(process.env, process.pid).length > 0
          ? 'fd://'
          : `unix://${path.join(g.runRoot, 'wharf.sock')}`;
      const address = parseListenUri(uri ?? dflt);
      const certDir = process.env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
      const tls = o.tlsverify
        ? readTlsConfig(
            {
              ca: o.tlscacert ?? path.join(certDir, 'ca.pem'),
              cert: o.tlscert ?? path.join(certDir, 'cert.pem'),
              key: o.tlskey ?? path.join(certDir, 'key.pem'),
            },
            true,
          )
        : undefined;
      if (address.kind === 'tcp' && !tls) {
        if (!o.insecureTcp)
          throw new WharfError(
            'INVALID_ARGUMENT',
            `refusing to serve the API on ${uri} without TLS: give --tlsverify --tlscacert --tlscert --tlskey (or --insecure-tcp to serve it in the clear)`,
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
          ...(tls ? { tls } : {}),
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
