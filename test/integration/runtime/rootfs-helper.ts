import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

const APPLETS = [
  'sh',
  'printf',
  'tr',
  'ls',
  'cat',
  'echo',
  'httpd',
  'sleep',
  'id',
  'hostname',
  'tty',
  'wget',
  'stty',
  'true',
  'false',
  'env',
  'ps',
  'ip',
  'nc',
  'head',
  'mkdir',
  'touch',
  'pwd',
  'test',
  '[',
];

/** A throw-away directory holding `rootfs/` made of the host's static busybox, plus a short run dir for sockets. */
export async function makeRootfs(): Promise<{
  dir: string;
  rootfs: string;
  runDir: string;
  id: string;
  remove(): Promise<void>;
}> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-rt-'));
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'www', 'proc', 'sys', 'dev', 'root'])
    await fsp.mkdir(path.join(rootfs, d), { recursive: true });
  await fsp.copyFile('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  await fsp.chmod(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const a of APPLETS) await fsp.symlink('busybox', path.join(rootfs, 'bin', a));
  await fsp.writeFile(
    path.join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await fsp.writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\nwww:x:33:\nstaff:x:50:www\nnogroup:x:65534:\n');
  await fsp.writeFile(path.join(rootfs, 'www/index.html'), 'hello from wharf\n');
  const id = `wt-${randomBytes(6).toString('hex')}`;
  const runDir = path.join(dir, 'run');
  await fsp.mkdir(runDir);
  return { dir, rootfs, runDir, id, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
}
