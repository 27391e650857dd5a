// The monitor's tests against its AddressSanitizer and UndefinedBehaviorSanitizer build (build/Release/
// wharf-monitor-asan, made by scripts/build-native.mjs): a memory error or undefined behaviour aborts the monitor,
// which fails the test that ran it (a dead monitor, a missing state) and the suite's last test, which reads every
// monitor's log for sanitizer reports. LeakSanitizer runs too: a leak is reported when the monitor exits.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const asan = fileURLToPath(new URL('../../../build/Release/wharf-monitor-asan', import.meta.url));
if (!existsSync(asan)) throw new Error(`${asan} is not built: run \`npm run build\``);
process.env.WHARF_MONITOR_BINARY = asan;
// halt_on_error: the first report ends the monitor (its report in its monitor.log, which the suite's last test
// reads); abort_on_error off: exit code 1 rather than a core dump; a small quarantine, so that the test of a stalled
// client measures the monitor's buffers rather than the freed memory ASan keeps back (256 MB by default).
process.env.ASAN_OPTIONS = 'detect_leaks=1:halt_on_error=1:abort_on_error=0:quarantine_size_mb=16';
process.env.UBSAN_OPTIONS = 'halt_on_error=1:print_stacktrace=1';
await import('./monitor-suite.js');
