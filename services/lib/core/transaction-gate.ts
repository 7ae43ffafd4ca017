// Whole database transactions: holds the changes of a transaction back until every one of them has arrived, in every
// partition, then hands them over together (the view applies them in one synchronous step, so no reader sees part of
// one). Debezium's END event on the transaction topic says how many changes each table got; a partition holding a
// change of an incomplete transaction holds everything after it too (a partition's order is kept).
//
// A transaction whose changes cannot all arrive — compacted away, poison, or written before the transaction topic is
// read from — is let through "torn" once that is proven: every partition either holds a change of a later transaction
// (Debezium writes in commit order) or has been read to its end and the END is older than `settleMs`. Without an END
// (expired, or not read), once the transaction topic is read to its end and the change is older than `settleMs`.
// No I/O in here: the view feeds it chunks and END events and asks what can be applied.
import type { FetchedRecord } from '../transport/transport.ts';
import type { TransactionEnd, TransactionTag } from '../sources/change-shape.ts';
import type { Poison } from './poison.ts';
import type { ChunkPart } from './view-data.ts';

/** Held records let through, as a chunk of their partition. */
export interface GatedPart extends ChunkPart {
  readonly records: FetchedRecord[];
  readonly poison: Map<number, Poison>;
}

export interface Released {
  readonly parts: GatedPart[];
  /** Transactions released whole. */
  readonly complete: number;
  /** Transactions released although some of their changes never arrived (ids and why). */
  readonly torn: ReadonlyArray<{ id: string; detail: string }>;
}

interface Held {
  readonly record: FetchedRecord;
  readonly poison: Poison | undefined;
  readonly tx: string | undefined;
}

interface Transaction {
  /** Changes arrived per table, by their order in it (a change delivered twice counts once). */
  readonly arrived: Map<string, Set<number>>;
  readonly partitions: Set<number>;
  /** Timestamp of its first change. */
  firstAt: number;
  end?: { readonly counts: ReadonlyMap<string, number>; readonly order: number; readonly at: number };
}

/** Ids of transactions already released: a straggler of one passes without waiting. */
const RELEASED_MEMORY = 10_000;

export class TransactionGate {
  /** Changes written before this time are not held (their END lies before where the transaction topic is read). */
  readonly from: number;
  private readonly settleMs: number;
  private readonly held = new Map<number, { items: Held[]; next: number }>();
  private readonly transactions = new Map<string, Transaction>();
  private readonly released = new Set<string>();
  /** Tables this topic carries (END events count other tables too). */
  private readonly tables = new Set<string>();
  /** Per partition, the commit order of the latest transaction a change was read of. */
  private readonly latestOrder = new Map<number, number>();
  private endsRead = 0;
  /** Set once the transaction topic has been read to its end (ENDs missing by then will not come). */
  endsCaughtUp = false;

  constructor(from: number, settleMs: number) {
    this.from = from;
    this.settleMs = settleMs;
  }

  /** Records held now (they are read but not applied). */
  get heldRecords(): number {
    let n = 0;
    for (const { items } of this.held.values()) n += items.length;
    return n;
  }

  /** Transactions with changes held now. */
  get waitingTransactions(): number {
    let n = 0;
    for (const tx of this.transactions.values()) if (tx.partitions.size > 0) n++;
    return n;
  }

  /** Takes a checked chunk: `tags` index for index (undefined: no transaction metadata). */
  add(
    partition: number,
    records: readonly FetchedRecord[],
    poison: ReadonlyMap<number, Poison>,
    next: number,
    tags: ReadonlyArray<TransactionTag | undefined> | undefined,
  ): void {
    const queue = this.held.get(partition) ?? { items: [], next };
    queue.next = next;
    this.held.set(partition, queue);
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as FetchedRecord;
      const tag = tags?.[i];
      const gated = tag !== undefined && record.timestamp >= this.from && !this.released.has(tag.id);
      queue.items.push({ record, poison: poison.get(i), tx: gated ? tag.id : undefined });
      if (gated) this.arrive(tag, partition, record.timestamp);
    }
  }

  private arrive(tag: TransactionTag, partition: number, timestamp: number): void {
    this.tables.add(tag.collection);
    let tx = this.transactions.get(tag.id);
    if (!tx) {
      tx = { arrived: new Map(), partitions: new Set(), firstAt: timestamp };
      this.transactions.set(tag.id, tx);
    }
    const orders = tx.arrived.get(tag.collection) ?? new Set<number>();
    tx.arrived.set(tag.collection, orders.add(tag.order));
    tx.partitions.add(partition);
    if (tx.end) this.latestOrder.set(partition, Math.max(tx.end.order, this.latestOrder.get(partition) ?? -1));
  }

  /** An END event read from the transaction topic (in commit order), written at `at`. */
  end(end: TransactionEnd, at: number): void {
    if (this.released.has(end.id)) return;
    const order = this.endsRead++;
    let tx = this.transactions.get(end.id);
    if (!tx) {
      // Not one of ours (yet): kept only if it counts a table of this topic (any, before the topic showed one).
      if (this.tables.size > 0 && ![...end.counts.keys()].some((table) => this.tables.has(table))) return;
      tx = { arrived: new Map(), partitions: new Set(), firstAt: at };
      this.transactions.set(end.id, tx);
    }
    tx.end = { counts: end.counts, order, at };
    for (const p of tx.partitions) this.latestOrder.set(p, Math.max(order, this.latestOrder.get(p) ?? -1));
  }

  /**
   * What can be applied now: per partition, the held records up to the first change of a transaction that is not
   * complete — and no transaction is released in one partition while some of its changes wait behind another's in
   * another partition. `readToEnd(p)` says whether partition p has been fetched up to its end offset.
   */
  release(now: number, partitions: readonly number[], readToEnd: (partition: number) => boolean): Released {
    const verdicts = new Map<string, string | true | undefined>(); // true: complete; string: torn (why); undefined: wait
    const verdict = (id: string): string | true | undefined => {
      if (!verdicts.has(id)) verdicts.set(id, this.judge(id, now, partitions, readToEnd));
      return verdicts.get(id);
    };
    // A transaction released whole must not be behind a waiting one in any partition: drop such ones until none is.
    for (let changed = true; changed;) {
      changed = false;
      for (const { items } of this.held.values()) {
        let blocked = false;
        for (const item of items) {
          if (item.tx === undefined) continue;
          if (verdict(item.tx) === undefined) blocked = true;
          else if (blocked) {
            verdicts.set(item.tx, undefined);
            changed = true;
          }
        }
      }
    }
    const parts: GatedPart[] = [];
    for (const [partition, queue] of this.held) {
      let k = 0;
      while (k < queue.items.length) {
        const tx = (queue.items[k] as Held).tx;
        if (tx !== undefined && verdict(tx) === undefined) break;
        k++;
      }
      const taken = queue.items.splice(0, k);
      const next = queue.items.length === 0 ? queue.next : (queue.items[0] as Held).record.offset;
      if (queue.items.length === 0) this.held.delete(partition);
      if (taken.length === 0) continue;
      const poison = new Map<number, Poison>();
      taken.forEach((item, i) => {
        if (item.poison) poison.set(i, item.poison);
      });
      parts.push({ partition, records: taken.map((item) => item.record), poison, next });
    }
    let complete = 0;
    const torn: Array<{ id: string; detail: string }> = [];
    for (const [id, outcome] of verdicts) {
      if (outcome === undefined) continue;
      this.forget(id);
      if (outcome === true) complete++;
      else torn.push({ id, detail: outcome });
    }
    // ENDs of transactions none of whose changes came (all compacted away, or not for this topic after all).
    for (const [id, tx] of this.transactions)
      if (tx.partitions.size === 0 && tx.end && this.proven(tx.end, now, partitions, readToEnd)) this.forget(id);
    return { parts, complete, torn };
  }

  private judge(
    id: string,
    now: number,
    partitions: readonly number[],
    readToEnd: (partition: number) => boolean,
  ): string | true | undefined {
    const tx = this.transactions.get(id);
    if (!tx) return true;
    const arrived = [...tx.arrived].map(([table, n]) => `${String(n.size)} ${table}`).join(', ');
    if (!tx.end) {
      return this.endsCaughtUp && now - tx.firstAt > this.settleMs
        ? `no END event on the transaction topic (expired, or written before it is read from); ${arrived} change(s) arrived`
        : undefined;
    }
    let whole = true;
    for (const table of this.tables)
      if ((tx.end.counts.get(table) ?? 0) > (tx.arrived.get(table)?.size ?? 0)) whole = false;
    if (whole) return true;
    if (!this.proven(tx.end, now, partitions, readToEnd)) return undefined;
    const expected = [...this.tables].map((t) => `${String(tx.end?.counts.get(t) ?? 0)} ${t}`).join(', ');
    return `${arrived || 'no'} change(s) of ${expected} arrived (the rest compacted away or poison)`;
  }

  /** No more changes of the transaction with this END can arrive in any partition. */
  private proven(
    end: NonNullable<Transaction['end']>,
    now: number,
    partitions: readonly number[],
    readToEnd: (partition: number) => boolean,
  ): boolean {
    return partitions.every(
      (p) => (this.latestOrder.get(p) ?? -1) > end.order || (readToEnd(p) && now - end.at > this.settleMs),
    );
  }

  private forget(id: string): void {
    this.transactions.delete(id);
    this.released.add(id);
    if (this.released.size > RELEASED_MEMORY) {
      const oldest = this.released.values().next().value as string;
      this.released.delete(oldest);
    }
  }

  /** Where partition p has been fetched to, held records included (undefined: nothing held there). */
  fetched(partition: number): number | undefined {
    return this.held.get(partition)?.next;
  }
}
