import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MASKED_PATHS, buildSpec, hostMaskedPaths } from '../../../src/runtime/index.js';

test("masked paths: Docker 28's /proc/interrupts and each CPU's thermal_throttle the host has", () => {
  const sys = mkdtempSync(path.join(tmpdir(), 'wharf-sys-cpu-'));
  try {
    for (const d of ['cpu0/thermal_throttle', 'cpu1', 'cpu10/thermal_throttle', 'cpufreq/thermal_throttle'])
      mkdirSync(path.join(sys, d), { recursive: true });
    assert.deepEqual(hostMaskedPaths(sys), [`${sys}/cpu0/thermal_throttle`, `${sys}/cpu10/thermal_throttle`]);
    assert.deepEqual(hostMaskedPaths(path.join(sys, 'missing')), []);
  } finally {
    rmSync(sys, { recursive: true, force: true });
  }
  assert.ok(MASKED_PATHS.includes('/proc/interrupts'));
  const base = { rootfs: 'rootfs', network: { mode: 'new' as const } };
  const extra = ['/sys/devices/system/cpu/cpu0/thermal_throttle'];
  const spec = buildSpec({ Cmd: ['sh'] }, { ...base, hostMaskedPaths: extra });
  assert.deepEqual(spec.linux.maskedPaths, [...MASKED_PATHS, ...extra]);
  assert.deepEqual(
    buildSpec({ Cmd: ['sh'] }, { ...base, hostMaskedPaths: extra, privileged: true }).linux.maskedPaths,
    [],
  );
});
