import { Writable } from 'node:stream';

/**
 * Output of stages built in parallel, printed as if they ran one after another: the earliest unfinished stage
 * writes through; later ones are held in memory until every stage before them is done.
 */
export class OrderedOutput {
  private current = 0;
  private readonly held: Array<Array<[Writable, Buffer]>> = [];
  private readonly done: boolean[] = [];

  constructor(
    private readonly out: Writable,
    private readonly err: Writable,
    count: number,
  ) {
    for (let i = 0; i < count; i++) {
      this.held.push([]);
      this.done.push(false);
    }
  }

  /** The stdout and stderr of stage slot `i`. */
  streams(i: number): { out: Writable; err: Writable } {
    return { out: this.writer(i, this.out), err: this.writer(i, this.err) };
  }

  private writer(i: number, target: Writable): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (i === this.current) target.write(chunk);
        else this.held[i]!.push([target, Buffer.from(chunk)]);
        cb();
      },
    });
  }

  /** Slot `i` is complete; print whatever the next slots held. */
  finish(i: number): void {
    this.done[i] = true;
    while (this.current < this.done.length && this.done[this.current]) {
      this.current++;
      if (this.current < this.held.length) this.flush(this.current);
    }
  }

  /** Print everything still held, in order (after a failure). */
  flushAll(): void {
    for (let i = this.current; i < this.held.length; i++) this.flush(i);
    this.current = this.held.length;
  }

  private flush(i: number): void {
    for (const [target, chunk] of this.held[i]!.splice(0)) target.write(chunk);
  }
}
