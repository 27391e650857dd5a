import { WharfError } from '../errors/index.js';

/**
 * Every key the registry configuration may hold. A config that names anything else stops the start with one line
 * naming the key: a misspelt `storage.s3.bukcet`, or a section of a feature Wharf does not have, must not quietly start
 * a registry that does something else (distribution refuses an unknown storage driver the same way).
 *
 * `true`: a value (checked where it is read); `'any'`: a mapping whose keys are the user's (group names, header names);
 * `'list'` + item schema: a list of mappings; `'ignored'`: a distribution key accepted so that its stock config starts,
 * with no effect in Wharf (docs/registry.md lists them).
 */
type Node = true | 'any' | 'ignored' | { list: Schema } | Schema;
interface Schema {
  [key: string]: Node;
}

const S3: Schema = {
  region: true,
  regionendpoint: true,
  bucket: true,
  accesskey: true,
  secretkey: true,
  rootdirectory: true,
  chunksize: true,
  forcepathstyle: true,
  secure: true,
};

/** Storage drivers Wharf has; distribution's others are named in the error. */
export const STORAGE_DRIVERS = ['filesystem', 's3'] as const;
const OTHER_DISTRIBUTION_DRIVERS = ['inmemory', 'azure', 'gcs', 'swift', 'oss'];
export const DATABASE_DRIVERS = ['sqlite', 'postgres'] as const;

export const SCHEMA: Schema = {
  version: true,
  log: { accesslog: { disabled: true }, level: 'ignored', formatter: 'ignored', fields: 'ignored' },
  storage: {
    filesystem: { rootdirectory: true, maxthreads: 'ignored' },
    s3: S3,
    delete: { enabled: true },
    redirect: { disable: true },
    maintenance: {
      uploadpurging: { enabled: true, age: true, interval: true, dryrun: 'ignored' },
      readonly: { enabled: true },
    },
    cache: 'ignored',
    reserve: { size: true },
  },
  database: { driver: true, dsn: true, pool: true, statementtimeout: true },
  http: {
    addr: true,
    draintimeout: true,
    idletimeout: true,
    workers: true,
    sendfile: true,
    ratelimit: { rate: true, burst: true },
    tls: { certificate: true, key: true },
    headers: 'ignored',
    secret: 'ignored',
  },
  auth: {
    htpasswd: { realm: true, path: true },
    token: { realm: true, service: true, issuer: true, key: true, expiration: true },
  },
  access: { groups: 'any', admins: true, rules: { list: { users: true, repositories: true, actions: true } } },
  gc: { bloblease: true },
  health: 'ignored',
};

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKey(where: string, known: Schema): WharfError {
  return new WharfError(
    'INVALID_ARGUMENT',
    `config ${where}: unknown key (known here: ${Object.keys(known).sort().join(', ')})`,
  );
}

/** Throws, naming the first key the schema does not know; values are checked later, where they are read. */
export function checkKnownKeys(raw: Record<string, unknown>, schema: Schema = SCHEMA, prefix = ''): void {
  for (const [k, v] of Object.entries(raw)) {
    const where = `${prefix}${k}`;
    if (!Object.hasOwn(schema, k)) {
      if (where === `storage.${k}` && OTHER_DISTRIBUTION_DRIVERS.includes(k))
        throw new WharfError(
          'INVALID_ARGUMENT',
          `config storage.${k}: storage driver ${k} is not supported (${STORAGE_DRIVERS.join(', ')})`,
        );
      throw unknownKey(where, schema);
    }
    const node = schema[k]!;
    if (node === true || node === 'any' || node === 'ignored' || v === null || v === undefined) continue;
    if ('list' in node && Array.isArray(v)) {
      v.forEach((item, i) => {
        if (isMapping(item)) checkKnownKeys(item, node.list as Schema, `${where}[${i}].`);
      });
      continue;
    }
    if (isMapping(v)) checkKnownKeys(v, node as Schema, `${where}.`);
  }
}

/**
 * Whether `keys` (an environment override's path) names a key of the schema, or one inside a free-form mapping. An
 * override whose first key is no section at all (`REGISTRY_URL` of some other tool) is not the registry's: undefined.
 */
export function envKeyKnown(keys: string[]): boolean | undefined {
  if (!Object.hasOwn(SCHEMA, keys[0]!)) return undefined;
  let node: Node = SCHEMA;
  for (const k of keys) {
    if (node === true) return false;
    if (node === 'any' || node === 'ignored') return true;
    if ('list' in node) return false;
    if (!Object.hasOwn(node, k)) return false;
    node = (node as Schema)[k]!;
  }
  return true;
}
