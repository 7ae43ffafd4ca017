// Reads of a view, all answered by its synchronous data core (view-data.ts) at the current version.
import { EventEmitter } from 'node:events';
import type { VersionVector } from '../version-token.ts';
import type { Change, ChangeListenerOptions, ViewData } from '../core/view-data.ts';
import type { Item, ViewSnapshot } from '../store/view-snapshot.ts';
import type { ViewEvents } from './view-types.ts';

export abstract class ViewReads extends EventEmitter<ViewEvents> {
  protected abstract readonly data: ViewData;

  get<T = unknown>(key: string): Item<T> | undefined {
    return this.data.get<T>(key);
  }

  /** The stored Confluent-framed value bytes of a key (for byte-exact comparisons), or undefined. */
  valueBytes(key: string): Buffer | undefined {
    return this.data.valueBytes(key);
  }

  /** Every key currently held (a synchronous pass, so from one version). */
  keys(): string[] {
    return this.data.keys();
  }

  has(key: string): boolean {
    return this.data.has(key);
  }

  /** True when the key's latest record was poison (its last good value is still served). */
  isPoisoned(key: string): boolean {
    return this.data.isPoisoned(key);
  }

  get size(): number {
    return this.data.size;
  }

  /** The view version: per partition, the next offset to apply. */
  get version(): VersionVector {
    return this.data.version;
  }

  get token(): string {
    return this.data.token;
  }

  /** Several keys read at one version (synchronously, so no chunk can land in between). */
  getMany<T = unknown>(keys: readonly string[]): { token: string; items: Map<string, Item<T>> } {
    return this.data.getMany<T>(keys);
  }

  /** A consistent read-only view of the current version that stays valid across awaits until released. */
  snapshot(): ViewSnapshot {
    return this.data.snapshot();
  }

  /** Resolves once every partition named in the token has been applied up to it; rejects on timeout and close. */
  async waitFor(token: string, timeoutMs = 30_000): Promise<void> {
    await this.data.waitFor(token, timeoutMs);
  }

  /** Calls `listener` for every change after its chunk is visible, in offset order per partition (see ChangeListenerOptions). */
  onChange<T = unknown>(listener: (change: Change<T>) => void, options: ChangeListenerOptions = {}): () => void {
    return this.data.onChange(listener, options);
  }
}
