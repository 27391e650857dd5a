import { WharfError } from '../errors/index.js';

/**
 * Frames on the monitor's attach socket: [type u8][length u32 BE][payload]. Both directions share the header;
 * a client sends STDIN, STDIN_EOF, RESIZE and CLAIM_CLEANUP, the monitor sends STDOUT, STDERR and EXIT.
 */
export const Frame = {
  STDIN: 0,
  STDOUT: 1,
  STDERR: 2,
  STDIN_EOF: 3,
  RESIZE: 4,
  EXIT: 5,
  /**
   * `{"pid": n}`: this client (an attached `run`, which has the engine loaded and waits anyway) will do the
   * after-exit cleanup itself if it is still connected when the container exits; the monitor then skips its own
   * cleanup command, which would cost a whole new Node process on the critical path of `run --rm`.
   */
  CLAIM_CLEANUP: 6,
} as const;
export type Frame = (typeof Frame)[keyof typeof Frame];

const HEADER = 5;
const MAX_FRAME = 1024 * 1024;

export function encodeFrame(type: Frame, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(HEADER);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames; keeps the unfinished tail for the next chunk. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ type: Frame; payload: Buffer }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<{ type: Frame; payload: Buffer }> = [];
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32BE(1);
      if (len > MAX_FRAME)
        throw new WharfError('INVALID_ARGUMENT', `attach frame of ${len} bytes exceeds ${MAX_FRAME}`);
      if (this.buf.length < HEADER + len) break;
      out.push({ type: this.buf.readUInt8(0) as Frame, payload: this.buf.subarray(HEADER, HEADER + len) });
      this.buf = this.buf.subarray(HEADER + len);
    }
    return out;
  }
}

/** Large writes are cut so that no frame exceeds the decoder's limit. */
export function* chunkFrames(type: Frame, data: Buffer): Generator<Buffer> {
  for (let i = 0; i < data.length; i += MAX_FRAME) yield encodeFrame(type, data.subarray(i, i + MAX_FRAME));
}
