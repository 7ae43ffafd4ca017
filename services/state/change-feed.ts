// The change feed over Server-Sent Events, bounded. Each event is serialized once into a buffer all followers share;
// changes go out every 50 ms as one write per follower (the same buffer for followers that caught up). Slowness is
// judged on what a follower costs, not on the size of a burst: a follower that caught up waits on a range of the
// change log (the frames all such followers share), for a socket that has not drained yet, as long as the log still
// holds that range — a burst of any size reaches a reader that keeps up, and costs no queue per follower. A follower
// is told to resync and disconnected only for its own slowness: more changes waiting for it than the log holds, or,
// while its socket has not drained, more than the per-connection limit in frames made for it alone (a follower
// replaying from an older version). Beyond a number of concurrent feeds new ones are refused with 503. `id` is the
// version after the event; reconnecting with Last-Event-ID (or ?from=) resumes without loss or duplicates.
import type { ServerResponse } from 'node:http';
import { stringifyJson } from '../lib/codec/json-values.ts';
import { HotstateError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ChangeLog, FeedEvent } from './change-log.ts';

export interface FeedLimits {
  /** Bytes that may wait behind a connection whose socket has not drained before it is told to resync and closed. */
  readonly maxBufferedBytes: number;
  /** Concurrent feeds on this instance. */
  readonly maxFeeds: number;
}

/** How long a disconnected follower gets to take its resync event before its socket is destroyed. */
const GOODBYE_MS = 2000;
const KEEP_ALIVE_MS = 15_000;
/**
 * Changes gather for this long before they are written (the feed's added latency): one write per follower per flush, not one per change
 * (each write is a system call; 300 followers of 300 changes/s would otherwise spend the CPU on them).
 */
const FLUSH_MS = 50;
/** Followers written per turn of the event loop during a flush. */
const FLUSH_SLICE = 8;

interface Follower {
  readonly raw: ServerResponse;
  readonly prefix: string;
  readonly log: ChangeLog;
  /** Frames made for this follower alone (it resumed from an older version), sent before its shared range. */
  own: Buffer[];
  ownBytes: number;
  /** Once caught up: the log's changes numbered [sharedFrom, sharedTo) wait for it (those with its prefix), as the
   *  frames every caught-up follower shares; a range, not a queue of its own. */
  sharedFrom: number;
  sharedTo: number;
  /** Tells it to resync and disconnects it, saying why. */
  readonly cut: (why: string) => void;
}

// An event's bytes are built once and shared by every follower's socket queue: 300 followers of a 1 KB change hold
// one buffer, not 300 copies. Followers that caught up share the whole frame (their `id` is the log's version);
// others get their own `id` line before the shared body. These buffers live as long as the log holds their event, so
// they are allocated outside Node's 8 KiB buffer pool (a pooled slice would keep its whole pool chunk alive: a burst
// of 10,000 changes then held hundreds of MB of mostly garbage), and shared frames are laid out one after another in
// blocks, so that a slice of consecutive frames is a view of its block, sent without copying.
const BLOCK_BYTES = 1 << 20;
const bodies = new WeakMap<FeedEvent, Buffer>();
const sharedFrames = new WeakMap<FeedEvent, Buffer>();
const unpooled = (text: string): Buffer => {
  const buffer = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  buffer.write(text);
  return buffer;
};
let block = Buffer.allocUnsafeSlow(0);
let blockUsed = 0;
/** The next `length` bytes of the current block (a new one when it is full); a frame larger than a block alone. */
const placed = (length: number): Buffer => {
  if (length > BLOCK_BYTES) return Buffer.allocUnsafeSlow(length);
  if (blockUsed + length > block.length) {
    block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
    blockUsed = 0;
  }
  blockUsed += length;
  return block.subarray(blockUsed - length, blockUsed);
};
const bodyOf = (event: FeedEvent): Buffer => {
  let body = bodies.get(event);
  if (body === undefined) {
    body = unpooled(`event: change\ndata: ${stringifyJson(event)}\n\n`);
    bodies.set(event, body);
  }
  return body;
};
const sharedFrameOf = (event: FeedEvent, version: string): Buffer => {
  let frame = sharedFrames.get(event);
  if (frame === undefined) {
    const idLine = `id: ${version}\n`;
    const body = bodyOf(event);
    frame = placed(Buffer.byteLength(idLine) + body.length);
    body.copy(frame, frame.write(idLine));
    sharedFrames.set(event, frame);
    bodies.set(event, frame.subarray(frame.length - body.length)); // one copy of the body, not two
  }
  return frame;
};

const waiting = (follower: Follower): number => follower.own.length + follower.sharedTo - follower.sharedFrom;

/**
 * Shared frames joined into one buffer, by their first frame, then count and prefix: followers that caught up send
 * the same slices, whenever each socket drains, so 300 followers of a burst hold one copy of each slice. A slice
 * lives as long as its first frame, which lives as long as the change log holds its event.
 */
const joinedSlices = new WeakMap<Buffer, Map<string, Buffer>>();
const joinedSlice = (frames: readonly Buffer[], prefix: string): Buffer => {
  const first = frames[0] as Buffer;
  let byShape = joinedSlices.get(first);
  if (byShape === undefined) joinedSlices.set(first, (byShape = new Map<string, Buffer>()));
  const shape = `${String(frames.length)}/${prefix}`;
  let joined = byShape.get(shape);
  if (joined === undefined) byShape.set(shape, (joined = Buffer.concat(frames)));
  return joined;
};

const resyncEvent = (message: string): string =>
  `event: resync\ndata: ${JSON.stringify({ error: { code: 'HOTSTATE_ERR_FEED_RESYNC_NEEDED', message, retriable: true } })}\n\n`;

export class ChangeFeeds {
  private readonly limits: FeedLimits;
  private readonly open = new Set<() => void>();
  /** Followers with frames waiting for the next flush. */
  private readonly pending = new Set<Follower>();
  private flushTimer: NodeJS.Timeout | undefined;

  private readonly log: Logger | undefined;

  constructor(limits: FeedLimits, log?: Logger) {
    this.limits = limits;
    this.log = log;
  }

  get count(): number {
    return this.open.size;
  }

  /** Throws HOTSTATE_ERR_FEED_LIMIT_REACHED (503) when this instance already serves its maximum of feeds. */
  admit(): void {
    if (this.open.size >= this.limits.maxFeeds) {
      throw new HotstateError(
        'HOTSTATE_ERR_FEED_LIMIT_REACHED',
        `this instance already serves ${String(this.limits.maxFeeds)} change feeds; retry later or against another instance`,
        { retriable: true },
      );
    }
  }

  /** Streams `log` from `from` to `raw` (already hijacked) until the client leaves, falls behind or the log resets. */
  serve(raw: ServerResponse, dataset: string, log: ChangeLog, from: string, prefix: string): void {
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'hotstate-version': from,
    });
    raw.write(`: following ${dataset} from ${from}\n\n`);
    let ended = false;
    const tooSlow = (why: string): void => {
      this.log?.warn({ dataset, reason: why }, 'change feed client disconnected: it does not read fast enough');
      end(
        resyncEvent(
          `this client does not read fast enough (${why}) on the feed of ${dataset}; list it again and follow from the listing's version`,
        ),
      );
    };
    const end = (goodbye?: string): void => {
      if (ended) return;
      ended = true;
      stop();
      clearInterval(keepAlive);
      this.open.delete(end);
      this.pending.delete(follower);
      if (goodbye !== undefined) raw.write(goodbye);
      raw.end();
      // A client that does not read would keep its unsent bytes (and the socket) forever.
      setTimeout(() => {
        raw.destroy();
      }, GOODBYE_MS).unref();
    };
    const follower: Follower = { raw, prefix, log, own: [], ownBytes: 0, sharedFrom: 0, sharedTo: 0, cut: tooSlow };
    const stop = log.follow(
      from,
      (event, seq, resumeToken, shared) => {
        if (ended || !event.key.startsWith(prefix)) return;
        if (waiting(follower) > log.capacity) {
          tooSlow(`more than the ${String(log.capacity)} changes this service holds wait for it`);
          return;
        }
        if (shared) {
          sharedFrameOf(event, resumeToken); // built by the first follower to hear of it, for all
          if (follower.sharedTo === follower.sharedFrom) follower.sharedFrom = seq;
          follower.sharedTo = seq + 1;
        } else {
          // Its own frames all come before it catches up (ChangeLog.follow), so they precede any shared range.
          const frame = Buffer.concat([Buffer.from(`id: ${resumeToken}\n`), bodyOf(event)]);
          if (raw.writableNeedDrain && follower.ownBytes + frame.length > this.limits.maxBufferedBytes) {
            tooSlow(`${String(this.limits.maxBufferedBytes)} bytes wait behind a write it has not taken`);
            return;
          }
          follower.own.push(frame);
          follower.ownBytes += frame.length;
        }
        this.pending.add(follower);
        this.schedule();
      },
      () => {
        // The view is rebuilding (topic recreated or truncated): versions start over, so the client must list again.
        end(resyncEvent(`dataset ${dataset} is being rebuilt; list it again and follow from the listing's version`));
      },
    );
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    // A socket that took its last write gets the next slice at once: a reader that keeps up is never made to wait
    // for the flush timer while a burst goes out.
    raw.on('drain', () => {
      if (waiting(follower) > 0) this.send(follower);
    });
    this.open.add(end);
    raw.on('close', () => {
      end();
    });
  }

  /** Makes sure a flush comes (followers with frames left are in `pending`). */
  private schedule(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flush();
    }, FLUSH_MS);
  }

  /**
   * Sends what gathered since the last flush, one write per follower. Followers that caught up with the same prefix
   * received the same frames: they get one buffer, built once. A follower whose socket has not drained yet keeps its
   * frames for later (they still count against its limit): a slow client then costs one queued write, not hundreds.
   */
  private flush(): void {
    this.flushTimer = undefined;
    const due = [...this.pending];
    this.pending.clear();
    // A few dozen writes at a time, then the event loop serves requests again: 300 socket writes in one go would
    // hold key reads back for tens of milliseconds.
    const writeSlice = (from: number): void => {
      const to = Math.min(due.length, from + FLUSH_SLICE);
      for (let i = from; i < to; i++) {
        const follower = due[i];
        if (follower) this.send(follower);
      }
      if (to < due.length)
        setImmediate(() => {
          writeSlice(to);
        });
    };
    writeSlice(0);
  }

  private send(follower: Follower): void {
    if (waiting(follower) === 0 || follower.raw.writableEnded) return; // ended between two slices
    if (follower.raw.writableNeedDrain) {
      this.pending.add(follower); // its 'drain' schedules the next flush
      return;
    }
    const batch = follower.own.length > 0 ? this.ownSlice(follower) : this.sharedSlice(follower);
    // Taken without filling the socket: the rest goes with the next flush; otherwise its 'drain' sends it.
    if (batch !== undefined && follower.raw.write(batch) && waiting(follower) > 0) {
      this.pending.add(follower);
      this.schedule();
    }
  }

  // At most the per-connection limit goes to a socket at once (the rest waits for its 'drain'): what a socket holds
  // that its client has not read stays bounded.

  private ownSlice(follower: Follower): Buffer {
    let count = 0;
    for (let bytes = 0; count < follower.own.length; count++) {
      bytes += (follower.own[count] as Buffer).length;
      if (count > 0 && bytes > this.limits.maxBufferedBytes) break;
    }
    const slice = follower.own.splice(0, count);
    for (const frame of slice) follower.ownBytes -= frame.length;
    return Buffer.concat(slice);
  }

  /** The next slice of the follower's shared range; undefined when its changes already left the log (it is cut). */
  private sharedSlice(follower: Follower): Buffer | undefined {
    const frames: Buffer[] = [];
    let bytes = 0;
    let seq = follower.sharedFrom;
    for (; seq < follower.sharedTo; seq++) {
      const event = follower.log.eventAt(seq);
      if (event === undefined) {
        follower.cut(`more than the ${String(follower.log.capacity)} changes this service holds wait for it`);
        return undefined;
      }
      const frame = event.key.startsWith(follower.prefix) ? sharedFrames.get(event) : undefined;
      if (frame === undefined) continue;
      const first = frames[0];
      if (first && (bytes + frame.length > this.limits.maxBufferedBytes || frame.buffer !== first.buffer)) break;
      frames.push(frame);
      bytes += frame.length;
    }
    follower.sharedFrom = seq;
    const first = frames[0];
    if (first === undefined) return undefined;
    // Consecutive in their block (no other prefix's frames between): the slice is a view of the block.
    const last = frames[frames.length - 1] as Buffer;
    return last.byteOffset + last.length - first.byteOffset === bytes
      ? Buffer.from(first.buffer, first.byteOffset, bytes)
      : joinedSlice(frames, follower.prefix);
  }

  closeAll(): void {
    for (const end of [...this.open]) end();
  }
}
