/**
 * Line readers for the audit files, on bytes (a newline byte never occurs inside a multi-byte
 * UTF-8 sequence, so lines are cut before they are decoded): forwards with line numbers and
 * whether the last line was torn (no final newline), and backwards from the end, newest first,
 * so that `history limit=1` reads one block of a 64 MB file instead of all of it.
 */
import { type FileHandle, open } from 'node:fs/promises';

const BLOCK = 256 * 1024;
const NEWLINE = 0x0a;

export interface Line {
  /** 1-based. */
  number: number;
  text: string;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** False for a last line without its newline (a write torn by a crash, or one in progress). */
  complete: boolean;
}

async function withHandle<T>(
  file: string | FileHandle,
  body: (handle: FileHandle) => AsyncGenerator<T>,
): Promise<AsyncGenerator<T>> {
  if (typeof file !== 'string') return body(file);
  const handle = await open(file, 'r');
  return (async function* () {
    try {
      yield* body(handle);
    } finally {
      await handle.close();
    }
  })();
}

/** Every line, oldest first (empty lines included: the caller decides what they mean). */
export async function* forwardLines(file: string | FileHandle, blockSize = BLOCK): AsyncGenerator<Line> {
  yield* await withHandle(file, async function* (handle) {
    const block = Buffer.allocUnsafe(blockSize);
    let carry: Buffer[] = [];
    let carryStart = 0;
    let position = 0;
    let number = 0;
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, blockSize, position);
      if (bytesRead === 0) break;
      let start = 0;
      for (let i = block.indexOf(NEWLINE, 0); i !== -1 && i < bytesRead; i = block.indexOf(NEWLINE, i + 1)) {
        const piece = block.subarray(start, i);
        const bytes = carry.length > 0 ? Buffer.concat([...carry, piece]) : piece;
        const offset = carry.length > 0 ? carryStart : position + start;
        carry = [];
        yield { number: ++number, text: bytes.toString('utf8'), offset, complete: true };
        start = i + 1;
      }
      if (start < bytesRead) {
        if (carry.length === 0) carryStart = position + start;
        carry.push(Buffer.from(block.subarray(start, bytesRead)));
      }
      position += bytesRead;
    }
    if (carry.length > 0)
      yield {
        number: ++number,
        text: Buffer.concat(carry).toString('utf8'),
        offset: carryStart,
        complete: false,
      };
  });
}

/**
 * Lines from the end of the file to its start, newest first, up to `end` bytes (default: the size
 * when called). Line numbers are not known backwards; `complete` is false only for a torn last line.
 */
export async function* reverseLines(
  file: string | FileHandle,
  end?: number,
  blockSize = BLOCK,
): AsyncGenerator<Omit<Line, 'number'>> {
  yield* await withHandle(file, async function* (handle) {
    let position = end ?? (await handle.stat()).size;
    if (position === 0) return;
    let pending: Buffer = Buffer.alloc(0);
    let torn: boolean | undefined;
    while (position > 0) {
      const length = Math.min(blockSize, position);
      position -= length;
      const block = Buffer.allocUnsafe(length);
      for (let got = 0; got < length; ) {
        const { bytesRead } = await handle.read(block, got, length - got, position + got);
        if (bytesRead === 0) throw new Error('the file shrank while it was read backwards');
        got += bytesRead;
      }
      const data = pending.length > 0 ? Buffer.concat([block, pending]) : block;
      let stop = data.length;
      if (torn === undefined) {
        torn = data[stop - 1] !== NEWLINE;
        if (!torn) stop--;
      }
      for (let i = stop > 0 ? data.lastIndexOf(NEWLINE, stop - 1) : -1; i !== -1; ) {
        yield {
          text: data.subarray(i + 1, stop).toString('utf8'),
          offset: position + i + 1,
          complete: !torn,
        };
        torn = false;
        stop = i;
        i = stop > 0 ? data.lastIndexOf(NEWLINE, stop - 1) : -1;
      }
      pending = Buffer.from(data.subarray(0, stop));
    }
    yield { text: pending.toString('utf8'), offset: 0, complete: !torn };
  });
}
