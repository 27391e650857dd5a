/**
 * A private dockerd (Debian's docker.io) on its own socket and data root, for comparing with the reference. Started
 * per test file, stopped by PID. No bridge, no iptables: it touches nothing shared.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ok, tempRoot, type CliResult } from './cli.js';
import { makeBusyboxTar } from './busybox.js';

const execFileP = promisify(execFile);

export interface Dockerd {
  socket: string;
  docker(
    args: string[],
    opts?: { input?: Buffer | string; cwd?: string },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export function dockerdAvailable(): boolean {
  return (
    ['/usr/sbin/dockerd', '/usr/bin/dockerd'].some((p) => existsSync(p)) &&
    ['/usr/bin/docker', '/usr/local/bin/docker'].some((p) => existsSync(p))
  );
}

/**
 * `privateBridge`: dockerd in a network namespace of its own (`unshare -n`) with its default bridge, for comparisons
 * that need Docker's `bridge` network; its docker0 lives and dies in that namespace. `iptables` (with
 * `privateBridge` only): dockerd manages its rules too, in that namespace's own tables (its embedded DNS and its
 * isolation between networks need them).
 */
export async function startDockerd(
  extraArgs: string[] = [],
  opts: { privateBridge?: boolean; iptables?: boolean } = {},
): Promise<Dockerd> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-dockerd-'));
  const socket = path.join(dir, 'd.sock');
  const ns = `wharf-test-${path.basename(dir)}`;
  const child = spawn(
    opts.privateBridge ? 'unshare' : 'dockerd',
    [
      ...(opts.privateBridge ? ['-n', 'dockerd'] : []),
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '-H',
      `unix://${socket}`,
      '--pidfile',
      path.join(dir, 'd.pid'),
      ...(opts.privateBridge ? [] : ['--bridge=none']),
      ...(opts.privateBridge && opts.iptables ? [] : ['--iptables=false', '--ip6tables=false']),
      '--containerd-namespace',
      ns,
      '--containerd-plugins-namespace',
      `${ns}-p`,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let log = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (log.length < 100_000) log += c.toString();
  });
  const docker: Dockerd['docker'] = (args, opts = {}) =>
    new Promise((resolve) => {
      const p = spawn('docker', ['-H', `unix://${socket}`, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      p.stdin.on('error', () => {});
      p.stdin.end(opts.input ?? '');
    });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const exited = new Promise((r) => child.once('exit', r));
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    // dockerd's own containerd child exits with it; unmount leftovers before removing the data root.
    await execFileP('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(
      () => {},
    );
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`dockerd exited early: ${log.slice(-2000)}`);
    if (existsSync(socket)) {
      const v = await docker(['version', '--format', '{{.Server.Version}}']);
      if (v.code === 0) return { socket, docker, stop };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`dockerd did not start: ${log.slice(-2000)}`);
}

export async function pidOf(file: string): Promise<number> {
  return Number((await readFile(file, 'utf8')).trim());
}

export interface SideBySide {
  /** The Wharf root. */
  root: string;
  dockerd: Dockerd;
  wharf(args: string[], opts?: { input?: string; cwd?: string }): Promise<CliResult>;
  docker(args: string[], opts?: { input?: string; cwd?: string }): Promise<CliResult>;
  /** Stops dockerd and removes the Wharf root (its containers first). */
  stop(): Promise<void>;
}

/**
 * A Wharf root and a private dockerd that hold the same `busybox` image (CMD sh): imported into Wharf, saved, and
 * loaded into dockerd, so that both report the same image ID. For tests that run the same steps on both engines.
 */
export async function sideBySide(
  prefix: string,
  opts: { privateBridge?: boolean; iptables?: boolean } = {},
): Promise<SideBySide> {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  const t = await tempRoot(prefix);
  let dockerd: Dockerd | undefined;
  const stop = async (): Promise<void> => {
    const ids = (await t.cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await t.cli(['rm', '-f', '-v', ...ids]);
    await dockerd?.stop();
    await t.cleanup();
  };
  try {
    const tar = await makeBusyboxTar(t.root);
    ok(await t.cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import busybox');
    const archive = path.join(t.root, 'busybox-save.tar');
    ok(await t.cli(['save', 'busybox', '-o', archive]), 'save busybox');
    dockerd = await startDockerd([], opts);
    const loaded = await dockerd.docker(['load', '-i', archive]);
    if (loaded.code !== 0) throw new Error(`docker load: ${loaded.stderr}`);
    const d = dockerd;
    return { root: t.root, dockerd: d, wharf: (args, opts) => t.cli(args, opts), docker: d.docker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
