/**
 * What differs between the API versions this service answers (1.24 … 1.43), per Docker's version history, where
 * clients notice: each rule is a small pure function over a reply (or a request's parameter) and the version asked.
 */

function num(v: string): number {
  const [major = '0', minor = '0'] = v.split('.');
  return Number(major) * 1000 + Number(minor);
}

/** Whether `version` is `min` or newer. */
export function atLeast(version: string, min: string): boolean {
  return num(version) >= num(min);
}

/** 1.28: attach/ws sends binary frames; text frames before, for old clients. */
export function wsBinaryFrames(version: string): boolean {
  return atLeast(version, '1.28');
}

/** GET /version: 1.35 added `Platform` and `Components`; an older client is answered without them. */
export function shapeVersion<T extends Record<string, unknown>>(body: T, version: string): Partial<T> {
  if (atLeast(version, '1.35')) return body;
  const { Platform: _p, Components: _c, ...rest } = body;
  return rest as Partial<T>;
}

/** 1.30 added `condition` to wait: before it, the parameter did not exist and a wait is for not-running. */
export function waitConditionParam(q: URLSearchParams, version: string): string | null {
  return atLeast(version, '1.30') ? q.get('condition') : null;
}

/**
 * Container inspect: until 1.42 HostConfig carried KernelMemory and KernelMemoryTCP (0 when unset); 1.42 omits them
 * when unset. Returns a new object; the input is not changed.
 */
export function shapeContainerInspect<T extends object>(body: T, version: string): T {
  const b = shapeEndpoints(body, version) as T & { HostConfig?: Record<string, unknown> };
  if (atLeast(version, '1.42') || !b.HostConfig) return b;
  return { ...b, HostConfig: { KernelMemory: 0, KernelMemoryTCP: 0, ...b.HostConfig } };
}

/**
 * NetworkSettings.Networks: `DNSNames` came in 1.44; before 1.45 the container's short ID is one of the `Aliases`
 * of each user-defined network's endpoint (docker-compose 1.x looks for it there, and reconnects a container whose
 * endpoint lacks it).
 */
function shapeEndpoints<T extends object>(body: T, version: string): T {
  const b = body as T & { Id?: string; NetworkSettings?: { Networks?: Record<string, Record<string, unknown>> } };
  const nets = b.NetworkSettings?.Networks;
  if (!nets || atLeast(version, '1.45')) return body;
  const short = (b.Id ?? '').slice(0, 12);
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, ep] of Object.entries(nets)) {
    const { DNSNames, ...rest } = ep;
    const e = atLeast(version, '1.44') ? { ...rest, DNSNames } : rest;
    // A user-defined network's endpoint is the one with DNS names (the predefined networks have none).
    if (DNSNames !== undefined && short) {
      const aliases = (ep.Aliases as string[] | null) ?? [];
      e.Aliases = aliases.includes(short) ? aliases : [...aliases, short];
    }
    out[name] = e;
  }
  return { ...b, NetworkSettings: { ...b.NetworkSettings, Networks: out } };
}

/** /system/df: `BuilderSize` (1.31–1.41) was removed in 1.42, where `BuildCache` alone reports the builder. */
export function shapeDiskUsage<T extends Record<string, unknown>>(body: T, version: string): T {
  const { BuilderSize: _b, ...rest } = body;
  if (atLeast(version, '1.42')) return rest as T;
  return { ...rest, BuilderSize: typeof _b === 'number' ? _b : 0 } as unknown as T;
}

/** Stats: `online_cpus` came in 1.27 (older clients count `percpu_usage`). */
export function shapeStatsFrame(frame: Record<string, unknown>, version: string): Record<string, unknown> {
  if (atLeast(version, '1.27')) return frame;
  const strip = (s: unknown) => {
    if (!s || typeof s !== 'object') return s;
    const { online_cpus: _o, ...rest } = s as Record<string, unknown>;
    return rest;
  };
  return { ...frame, cpu_stats: strip(frame.cpu_stats), precpu_stats: strip(frame.precpu_stats) };
}

/**
 * /images/json: the singular `filter=<reference>` parameter (deprecated in 1.13) is still honoured up to 1.40 and
 * removed in 1.41; it is a `reference` filter.
 */
export function legacyImageFilter(q: URLSearchParams, version: string): string[] {
  if (atLeast(version, '1.41')) return [];
  const f = q.get('filter');
  return f ? [`reference=${f}`] : [];
}
