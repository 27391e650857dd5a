/**
 * Docker's multiplexed stream (logs, attach and exec without a TTY): each payload behind an 8-byte header
 * `[stream u8][0 0 0][length u32 BE]`, stream 1 = stdout, 2 = stderr (0 = stdin, never sent).
 */
export const STDOUT = 1;
export const STDERR = 2;

export function muxFrame(stream: typeof STDOUT | typeof STDERR, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head.writeUInt8(stream, 0);
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Splits a multiplexed stream back into frames (tests, and clients of the library). */
export function demux(data: Buffer): Array<{ stream: number; payload: Buffer }> {
  const out: Array<{ stream: number; payload: Buffer }> = [];
  let at = 0;
  while (at + 8 <= data.length) {
    const len = data.readUInt32BE(at + 4);
    if (at + 8 + len > data.length) break;
    out.push({ stream: data.readUInt8(at), payload: data.subarray(at + 8, at + 8 + len) });
    at += 8 + len;
  }
  return out;
}

/**
 * One JSON-lines progress message as dockerd writes it (Go's encoder: `\r\n` after each object, `<`, `>` and `&`
 * HTML-escaped).
 */
export function jsonMessage(obj: unknown): string {
  return JSON.stringify(obj).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) + '\r\n';
}
