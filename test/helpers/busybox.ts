/** A busybox root file system built from Debian's static busybox, as a tarball: the base image of our tests. */
import { mkdtemp, mkdir, copyFile, symlink, writeFile, rm, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? '/bin/busybox';
const APPLETS = [
  'sh',
  'ls',
  'cat',
  'echo',
  'httpd',
  'sleep',
  'id',
  'hostname',
  'tty',
  'wget',
  'mkdir',
  'rm',
  'true',
  'false',
  'env',
  'touch',
  'mv',
  'cp',
  'pwd',
  'test',
  'head',
  'seq',
  'dd',
  'stat',
  'chmod',
  'ps',
  'kill',
  'grep',
  'wc',
  'uname',
  'whoami',
  'readlink',
  'printf',
  'yes',
  'find',
  'top',
  'nc',
  'tar',
  'sha256sum',
];

/** Make the rootfs directory (bin/busybox + applet links, /etc/passwd, /etc/group) at `dir`. */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  for (const d of ['etc', 'tmp', 'root', 'var/www', 'proc', 'sys', 'dev'])
    await mkdir(path.join(dir, d), { recursive: true });
  await chmod(path.join(dir, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, path.join(dir, 'bin', 'busybox'));
  await chmod(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) await symlink('busybox', path.join(dir, 'bin', a));
  await writeFile(
    path.join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww:x:33:33:www:/var/www:/bin/sh\n',
  );
  await writeFile(path.join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\nwww:x:33:\n');
}

/** A busybox rootfs tarball at `<dir>/busybox.tar` (made with GNU tar, as a user would). */
export async function makeBusyboxTar(dir: string, extra?: (rootfs: string) => Promise<void>): Promise<string> {
  const rootfs = await mkdtemp(path.join(tmpdir(), 'wharf-bb-'));
  try {
    await makeBusyboxRootfs(rootfs);
    if (extra) await extra(rootfs);
    const out = path.join(dir, 'busybox.tar');
    execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', out, '.']);
    return out;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}
