import { WharfError } from '../errors/index.js';

/**
 * Frames on the monitor's attach socket: [type u8][length u32 BE][payload]. Both directions share the header;
 * a client sends STDIN, STDIN_EOF, RESIZE, CLAIM_CLEANUP and SIGNAL, the monitor sends STDOUT, STDERR, EXIT and
 * SIGNAL's answer.
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
  /**
   * `{"signal": n}` from a client: the monitor sends signal n to the container's init, which it holds by a pidfd
   * (runc kill's kill(2) without exec'ing runc), and answers with a SIGNAL frame `{"sent": true}` or
   * `{"sent": false, "errno": "ESRCH"}` (ESRCH: the container has exited; any other: ask runc). Only monitors whose
   * state says `signalFrames` know it (monitor-signal.ts).
   */
  SIGNAL: 7,
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

/** A part of a frame's payload, in the order it arrived; `last` ends the frame. */
export interface FramePiece {
  type: Frame;
  payload: Buffer;
  last: boolean;
}

/**
 * Splits a byte stream into frames without waiting for a frame's end: each payload comes in pieces as its bytes
 * arrive, each a view of the chunk pushed (valid as long as that chunk is: copy what you keep). Nothing of a chunk is
 * held after push() returns (an unfinished header is copied), so a reader can reuse one read buffer, and output
 * flows on without ever being held in memory as a whole frame.
 */
export class FrameSplitter {
  readonly #head = Buffer.alloc(HEADER);
  #headLen = 0;
  #type: Frame = Frame.STDOUT;
  /** Payload bytes of the current frame still to come; undefined between frames. */
  #left: number | undefined;

  push(chunk: Buffer): FramePiece[] {
    const out: FramePiece[] = [];
    let at = 0;
    for (;;) {
      if (this.#left === undefined) {
        const n = Math.min(HEADER - this.#headLen, chunk.length - at);
        chunk.copy(this.#head, this.#headLen, at, at + n);
        this.#headLen += n;
        at += n;
        if (this.#headLen < HEADER) return out;
        this.#headLen = 0;
        this.#type = this.#head.readUInt8(0) as Frame;
        this.#left = this.#head.readUInt32BE(1);
        if (this.#left > MAX_FRAME)
          throw new WharfError('INVALID_ARGUMENT', `attach frame of ${this.#left} bytes exceeds ${MAX_FRAME}`);
      }
      const n = Math.min(this.#left, chunk.length - at);
      if (n === 0 && this.#left > 0) return out;
      this.#left -= n;
      out.push({ type: this.#type, payload: chunk.subarray(at, at + n), last: this.#left === 0 });
      at += n;
      if (this.#left === 0) this.#left = undefined;
    }
  }
}

/** Splits a byte stream into whole frames; keeps the unfinished one for the next chunk. */
export class FrameDecoder {
  readonly #splitter = new FrameSplitter();
  #parts: Buffer[] = [];

  push(chunk: Buffer): Array<{ type: Frame; payload: Buffer }> {
    const out: Array<{ type: Frame; payload: Buffer }> = [];
    for (const p of this.#splitter.push(chunk)) {
      if (!p.last) this.#parts.push(p.payload);
      else if (this.#parts.length === 0) out.push({ type: p.type, payload: p.payload });
      else {
        out.push({ type: p.type, payload: Buffer.concat([...this.#parts, p.payload]) });
        this.#parts = [];
      }
    }
    return out;
  }
}

/** Large writes are cut so that no frame exceeds the decoder's limit. */
export function* chunkFrames(type: Frame, data: Buffer): Generator<Buffer> {
  for (let i = 0; i < data.length; i += MAX_FRAME) yield encodeFrame(type, data.subarray(i, i + MAX_FRAME));
}
