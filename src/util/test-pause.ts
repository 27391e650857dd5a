import { Transform } from 'node:stream';

/**
 * Fault injection for the tests under test/faults/: `WHARF_TEST_PAUSE_AT=commit:after-pause` (a comma-separated
 * list of steps) makes the process stop itself with SIGSTOP when it reaches that named step, so that a test can
 * kill it there with SIGKILL: deterministic, unlike a kill after a delay. The test sees the stop in
 * /proc/<pid>/stat (state `T`). Read on each call, not cached: a step is reached at most a few times per command.
 * Like WHARF_TRACE a process-wide switch, not a library option: it changes nothing unless set.
 */
export function testPausePoint(step: string): void {
  if (!pauseSelected(step)) return;
  process.kill(process.pid, 'SIGSTOP');
}

/**
 * `stream` unchanged, unless `step` is selected in WHARF_TEST_PAUSE_AT: then a pass-through that stops the process
 * (testPausePoint) once `after` bytes have flowed (default 512 KiB), i.e. in the middle of writing what the stream feeds.
 */
export function testPauseMidStream<S extends NodeJS.ReadableStream>(stream: S, step: string, after = 1 << 19): S {
  if (!pauseSelected(step)) return stream;
  let seen = 0;
  let stopped = false;
  const pass = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      cb(null, chunk);
      if (!stopped && seen >= after) {
        stopped = true;
        testPausePoint(step); // the bytes before this chunk are written by now: the layer is half there
      }
    },
  });
  stream.on('error', (err: Error) => pass.destroy(err));
  return stream.pipe(pass) as unknown as S;
}

function pauseSelected(step: string): boolean {
  return process.env.WHARF_TEST_PAUSE_AT?.split(',').includes(step) ?? false;
}
