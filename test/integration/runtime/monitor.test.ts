// The monitor's tests against the native monitor (native/monitor.c) where it is built: startMonitor picks it for
// every container on pipes, and the Node monitor for terminals and the OOM watch. monitor-node.test.ts runs the same
// tests against the Node monitor alone.
import { nativeMonitorPath } from '../../../src/runtime/index.js';

if (!nativeMonitorPath()) process.stderr.write('note: the native monitor is not built; these tests run the Node monitor\n');
await import('./monitor-suite.js');
