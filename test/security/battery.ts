/**
 * The attack battery's shared set-up (issue 17): a Wharf root and a private dockerd holding the same attacker image
 * (busybox with the applets the attacks use, the static attack probe, a setuid-root copy of the probe), and the tally
 * that each battery file prints at its end: how many attacks were tried, how many failed as they must, and what Docker
 * did with the same attempt. An attack's outcome is a class, `blocked` or `escaped` (the detail beside it is for the
 * reader); message texts are never compared.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { ok, tempRoot, type CliResult } from '../helpers/cli.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';

const PROBE_SOURCE = fileURLToPath(new URL('./attack-probe.c', import.meta.url));
/** Applets beyond test/helpers/busybox.ts's that the attacks run. */
const ATTACK_APPLETS = ['mount', 'unshare', 'mknod', 'insmod', 'date', 'reboot', 'ln', 'sysctl', 'xxd', 'usleep'];

export type Outcome = 'blocked' | 'escaped';
export interface Result {
  outcome: Outcome;
  /** What happened, for the report (an errno name, a byte count, …). */
  detail: string;
}
export type Engine = (args: string[], opts?: { input?: string | Buffer; cwd?: string }) => Promise<CliResult>;

export interface Battery {
  root: string;
  wharf: Engine;
  docker: Engine;
  dockerd: Dockerd;
  /** dockerd's data root (for the attempts that look for it from inside). */
  dockerRoot: string;
  /** Records one attack: Wharf must block it; Docker's outcome is recorded beside it. */
  record(name: string, ours: Result, docker?: Result): void;
  stop(): Promise<void>;
}

/** Compiles the attack probe static into `dest` with the C compiler the native build uses. */
export function buildProbe(dest: string): void {
  const [cc, ...ccArgs] = (process.env.CC || 'cc').trim().split(/\s+/);
  execFileSync(cc!, [...ccArgs, '-static', '-O1', '-o', dest, PROBE_SOURCE]);
}

export async function startBattery(prefix: string): Promise<Battery> {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  const t = await tempRoot(prefix);
  let dockerd: Dockerd | undefined;
  const rows: Array<{ name: string; ours: Result; docker?: Result }> = [];
  const stop = async (): Promise<void> => {
    const ids = (await t.cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await t.cli(['rm', '-f', '-v', ...ids]);
    await dockerd?.stop();
    await t.cleanup();
    const passed = rows.filter((r) => r.ours.outcome === 'blocked').length;
    const lines = rows.map(
      (r) =>
        `  ${r.ours.outcome === 'blocked' ? 'ok  ' : 'FAIL'} ${r.name}: wharf ${r.ours.outcome} (${r.ours.detail})` +
        (r.docker ? `; docker ${r.docker.outcome} (${r.docker.detail})` : ''),
    );
    console.log(`attack battery ${prefix}: ${rows.length} tried, ${passed} blocked\n${lines.join('\n')}`);
  };
  try {
    const tar = await makeBusyboxTar(t.root, async (rootfs) => {
      for (const a of ATTACK_APPLETS) await fsp.symlink('busybox', path.join(rootfs, 'bin', a)).catch(() => {});
      await fsp.mkdir(path.join(rootfs, 'mnt'));
      buildProbe(path.join(rootfs, 'bin/attack-probe'));
      await fsp.copyFile(path.join(rootfs, 'bin/attack-probe'), path.join(rootfs, 'bin/suid-probe'));
      await fsp.chmod(path.join(rootfs, 'bin/suid-probe'), 0o4755);
    });
    ok(await t.cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import busybox');
    const archive = path.join(t.root, 'busybox-save.tar');
    ok(await t.cli(['save', 'busybox', '-o', archive]), 'save busybox');
    dockerd = await startDockerd();
    const loaded = await dockerd.docker(['load', '-i', archive]);
    if (loaded.code !== 0) throw new Error(`docker load: ${loaded.stderr}`);
    await fsp.rm(archive);
    await fsp.rm(tar);
    const info = await dockerd.docker(['info', '--format', '{{.DockerRootDir}}']);
    const d = dockerd;
    return {
      root: t.root,
      wharf: (args, opts) => t.cli(args, opts),
      docker: d.docker,
      dockerd: d,
      dockerRoot: info.stdout.trim(),
      record(name, ours, docker) {
        rows.push({ name, ours, ...(docker ? { docker } : {}) });
        assert.equal(ours.outcome, 'blocked', `${name}: the attack worked under Wharf (${ours.detail})`);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `run --rm --network none busybox sh -c SCRIPT` on an engine; the script's stdout (any exit code). */
export async function runIn(engine: Engine, script: string, flags: string[] = []): Promise<CliResult> {
  return engine(['run', '--rm', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script]);
}

/** The probe's `NAME=RESULT` answer as a Result: "0" means the kernel let the attack through. */
export function probeResult(r: CliResult, name: string): Result {
  const m = new RegExp(`^${name}=(\\S+)$`, 'm').exec(r.stdout);
  if (!m) throw new Error(`no ${name}= line from the probe (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return { outcome: m[1] === '0' ? 'escaped' : 'blocked', detail: m[1]! };
}

/** A script's verdict: it prints ESCAPED when the attack worked; the detail is the rest of its output. */
export function scriptResult(r: CliResult): Result {
  const out = `${r.stdout}${r.stderr}`.trim().replace(/\s+/g, ' ').slice(0, 120);
  return { outcome: /ESCAPED/.test(r.stdout) ? 'escaped' : 'blocked', detail: out || `exit ${r.code}` };
}
