import type { ResourceUpdate } from '../container/index.js';
import { readJson, sendJson, type ApiRequest } from './context.js';

/** The keys of Docker's UpdateConfig that Wharf applies (the rest of Resources is ignored, as unknown keys are). */
const KEYS: ReadonlyArray<keyof ResourceUpdate> = [
  'BlkioWeight',
  'CpuShares',
  'NanoCpus',
  'CpuPeriod',
  'CpuQuota',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'CpusetCpus',
  'CpusetMems',
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'PidsLimit',
];

/**
 * The resources of an update body. The docker CLI sends every key, zero where a flag was not given: zero (and "")
 * means unchanged, as dockerd reads it; PidsLimit is a pointer there, so null means unchanged and 0 or -1 unlimited.
 */
export function resourceUpdateOf(body: Record<string, unknown>): ResourceUpdate {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) {
    const v = body[k];
    if (v === undefined || v === null) continue;
    if (k === 'PidsLimit') out[k] = v;
    else if (v !== 0 && v !== '') out[k] = v;
  }
  return out as ResourceUpdate;
}

/** POST /containers/{id}/update: new limits (and a restart policy when one is named); `{"Warnings":[…]}`. */
export async function updateHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<Record<string, unknown>>(r.req);
  const rp = body.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
  const restartPolicy = rp?.Name ? { Name: rp.Name, MaximumRetryCount: rp.MaximumRetryCount ?? 0 } : undefined;
  const res = await r.wharf.containers.update(
    r.params.id!,
    resourceUpdateOf(body),
    restartPolicy ? { restartPolicy } : {},
  );
  sendJson(r.res, 200, { Warnings: res.warnings.length ? res.warnings : null });
}
