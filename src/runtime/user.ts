import { WharfError } from '../errors/index.js';

/** One line of /etc/passwd. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One line of /etc/group. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** What the process runs as, resolved like runc's libcontainer/user.GetExecUser. */
export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

const isNumeric = (s: string): boolean => /^[0-9]+$/.test(s);

/** Parse /etc/passwd contents; malformed lines are skipped as the C library does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || !isNumeric(f[2]!) || !isNumeric(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/** Parse /etc/group contents. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !isNumeric(f[2]!)) continue;
    const members = (f[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    out.push({ name: f[0]!, gid: Number(f[2]), members });
  }
  return out;
}

const MAX_ID = 2 ** 31 - 1;

function checkId(n: number, what: string, spec: string): number {
  if (n > MAX_ID) throw new WharfError('INVALID_ARGUMENT', `${what} ${n} in user "${spec}" is out of range`);
  return n;
}

/**
 * Resolve Docker's `--user` value (`name|uid[:group|gid]`) against the image's /etc/passwd and /etc/group contents
 * (undefined when the file does not exist). Names must exist; numeric ids need not. Supplementary groups come from
 * /etc/group membership unless a group was given explicitly, then `groupAdd` (names or gids) is appended.
 */
export function resolveUser(
  spec: string | undefined,
  passwdText: string | undefined,
  groupText: string | undefined,
  groupAdd: readonly string[] = [],
): ExecUser {
  const passwd = passwdText !== undefined ? parsePasswd(passwdText) : [];
  const groups = groupText !== undefined ? parseGroup(groupText) : [];
  const value = (spec ?? '').trim();
  const [userPart = '', groupPart, ...rest] = value.split(':');
  if (rest.length > 0)
    throw new WharfError('INVALID_ARGUMENT', `invalid user "${value}": expected name|uid[:group|gid]`);

  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined = 'root';
  if (userPart !== '') {
    if (isNumeric(userPart)) {
      uid = checkId(Number(userPart), 'uid', value);
      const entry = passwd.find((p) => p.uid === uid);
      name = entry?.name;
      if (entry) {
        gid = entry.gid;
        home = entry.home || '/';
      }
    } else {
      const entry = passwd.find((p) => p.name === userPart);
      if (!entry) {
        throw new WharfError(
          'INVALID_ARGUMENT',
          `unable to find user ${userPart}: no matching entries in passwd file`,
          { details: { user: value } },
        );
      }
      uid = entry.uid;
      gid = entry.gid;
      home = entry.home || '/';
      name = entry.name;
    }
  } else {
    const entry = passwd.find((p) => p.uid === 0);
    if (entry) home = entry.home || '/';
    else home = '/root';
  }

  const additional: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    gid = resolveGroup(groupPart, groups, value);
  } else if (name !== undefined) {
    for (const g of groups) if (g.members.includes(name) && g.gid !== gid) additional.push(g.gid);
  }
  for (const g of groupAdd) {
    const id = resolveGroup(g, groups, g);
    if (!additional.includes(id)) additional.push(id);
  }
  return { uid, gid, additionalGids: additional, home };
}

function resolveGroup(g: string, groups: GroupEntry[], spec: string): number {
  if (isNumeric(g)) return checkId(Number(g), 'gid', spec);
  const entry = groups.find((e) => e.name === g);
  if (!entry) throw new WharfError('INVALID_ARGUMENT', `unable to find group ${g}: no matching entries in group file`);
  return entry.gid;
}
