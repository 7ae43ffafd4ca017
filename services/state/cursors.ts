// List cursors: each holds an open view snapshot and its iterator, so every page of a listing comes from the same
// version. Idle cursors expire (and release their snapshot) after the TTL.
import { randomUUID } from 'node:crypto';
import { HotstateError } from '../lib/errors.ts';
import type { Item, ViewSnapshot } from '../lib/view/view.ts';

interface OpenCursor {
  readonly dataset: string;
  readonly snapshot: ViewSnapshot;
  readonly iterator: Iterator<Item>;
  pending: Item | undefined;
  timer: NodeJS.Timeout;
}

export interface Page {
  readonly version: string;
  readonly items: Item[];
  readonly nextCursor: string | undefined;
}

export class CursorStore {
  private readonly open = new Map<string, OpenCursor>();
  private readonly ttlMs: number;

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
  }

  first(dataset: string, snapshot: ViewSnapshot, prefix: string, limit: number): Page {
    const iterator = snapshot.items({ prefix });
    const cursor: OpenCursor = {
      dataset,
      snapshot,
      iterator,
      pending: undefined,
      timer: setTimeout(() => undefined, 0),
    };
    return this.page(randomUUID(), cursor, limit);
  }

  next(dataset: string, id: string, limit: number): Page {
    const cursor = this.open.get(id);
    if (cursor?.dataset !== dataset)
      throw new HotstateError(
        'HOTSTATE_ERR_LIST_CURSOR_EXPIRED',
        `cursor ${JSON.stringify(id)} expired or does not exist; list again without a cursor`,
      );
    clearTimeout(cursor.timer);
    this.open.delete(id);
    return this.page(id, cursor, limit);
  }

  private page(id: string, cursor: OpenCursor, limit: number): Page {
    const items: Item[] = [];
    if (cursor.pending) items.push(cursor.pending);
    cursor.pending = undefined;
    while (items.length < limit) {
      const step = cursor.iterator.next();
      if (step.done) break;
      items.push(step.value);
    }
    const peek = cursor.iterator.next(); // one ahead: is there another page?
    if (peek.done) {
      cursor.snapshot.release();
      return { version: cursor.snapshot.token, items, nextCursor: undefined };
    }
    cursor.pending = peek.value;
    cursor.timer = setTimeout(() => {
      this.expire(id);
    }, this.ttlMs);
    cursor.timer.unref();
    this.open.set(id, cursor);
    return { version: cursor.snapshot.token, items, nextCursor: id };
  }

  private expire(id: string): void {
    this.open.get(id)?.snapshot.release();
    this.open.delete(id);
  }

  closeAll(): void {
    for (const [id, cursor] of this.open) {
      clearTimeout(cursor.timer);
      this.expire(id);
    }
  }
}
