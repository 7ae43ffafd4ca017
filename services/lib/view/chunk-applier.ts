// How a fetched chunk reaches the view's data: checked and translated (record-intake.ts), its poison handed to the
// policy, then applied in one go — or, for changes that belong to database transactions, held by the transaction
// gate and applied together with the rest of their transaction (view-transactions.ts).
import { isHotstateError, type HotstateError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ViewMetrics } from '../metrics.ts';
import type { Poison } from '../core/poison.ts';
import type { TransactionGate } from '../core/transaction-gate.ts';
import type { ViewData } from '../core/view-data.ts';
import type { FailureKind, ViewStateMachine } from '../core/view-state.ts';
import type { FetchedRecord, PartitionChunk } from '../transport/transport.ts';
import type { PoisonHandling } from './poison-handling.ts';
import type { RecordIntake } from './record-intake.ts';
import type { ViewTransactions } from './view-transactions.ts';

/** Refusals no retry can fix: the view fails with them instead of waiting. */
const refusedAccess = new Set([
  'HOTSTATE_ERR_REGISTRY_AUTHENTICATION',
  'HOTSTATE_ERR_REGISTRY_MISADDRESSED',
  'HOTSTATE_ERR_TRANSPORT_AUTHENTICATION',
  'HOTSTATE_ERR_TRANSPORT_DENIED',
]);

interface ViewParts {
  readonly topic: string;
  readonly intake: RecordIntake;
  readonly poison: PoisonHandling;
  readonly transactions: ViewTransactions;
  readonly data: ViewData;
  readonly machine: ViewStateMachine;
  readonly metrics: ViewMetrics | undefined;
  readonly log: Logger;
  /** Latest end offset seen per partition (updated here from fetch answers). */
  readonly latestEnds: Map<number, number>;
  readonly partitions: () => readonly number[];
  /** When the version the replay started from was taken (transactions are read from a little before it). */
  readonly replayBasedAt: () => number;
  readonly fail: (kind: FailureKind, reason: string) => void;
  /** Kafka or the registry refused the view's credentials or ACLs. */
  readonly refused: (error: HotstateError) => void;
  /** Positions moved (or the registry answered again): readiness and freshness are judged again. */
  readonly progressed: () => void;
}

export class ChunkApplier {
  private readonly view: ViewParts;

  constructor(view: ViewParts) {
    this.view = view;
  }

  /** Any error while handling a chunk fails the view with the reason, so it can never stall while looking healthy. */
  async onChunk(chunk: PartitionChunk): Promise<void> {
    try {
      await this.apply(chunk);
    } catch (error) {
      if (this.view.machine.stopped()) return;
      const at = chunk.records[0]?.offset ?? chunk.next;
      this.view.log.error({ err: error, partition: chunk.partition, offset: at }, 'applying a chunk failed');
      if (isHotstateError(error) && refusedAccess.has(error.code)) {
        this.view.refused(error);
        return;
      }
      this.view.fail(
        'internal',
        `applying partition ${String(chunk.partition)} from offset ${String(at)} failed: ${(error as Error).message}`,
      );
    }
  }

  private async apply(chunk: PartitionChunk): Promise<void> {
    const { machine, data, latestEnds, metrics, topic } = this.view;
    if (machine.stopped()) return;
    const { partition, records } = chunk;
    latestEnds.set(partition, Math.max(chunk.highWatermark, latestEnds.get(partition) ?? 0));
    const checked = await this.view.intake.check(records, () => machine.stopped(), machine.caughtUp);
    if (!checked) return;
    const { poison, waited } = checked;
    if (waited) this.view.progressed();
    if (poison.size > 0 && !(await this.handlePoison(partition, records, poison, checked.unreadable))) return;
    const lag = Math.max(0, chunk.highWatermark - chunk.next);
    metrics?.lagRecords.set({ topic, partition: String(partition) }, lag);
    const transactions = this.view.transactions;
    const gate = checked.transactions
      ? transactions.begin(checked.connector, this.view.replayBasedAt())
      : transactions.gate;
    if (gate) {
      gate.add(partition, checked.records, poison, chunk.next, checked.transactions);
      await this.applyReleased(gate);
      return;
    }
    const moved = data.position(partition) < chunk.next;
    const [late] = data.apply([{ partition, records: checked.records, poison, next: chunk.next }], machine.caughtUp);
    if (late && late.size > 0) await this.handlePoison(partition, records, late);
    if (moved) this.view.progressed();
  }

  /** Applies, in one step, whatever whole database transactions the gate lets through now. */
  async applyReleased(gate: TransactionGate | undefined = this.view.transactions.gate): Promise<void> {
    const { machine, data, latestEnds } = this.view;
    if (!gate || machine.stopped()) return;
    const readToEnd = (p: number): boolean => (gate.fetched(p) ?? data.position(p)) >= (latestEnds.get(p) ?? 0);
    const { parts } = this.view.transactions.release(gate, this.view.partitions(), readToEnd);
    if (parts.length === 0) return;
    const late = data.apply(parts, machine.caughtUp);
    for (const [i, poison] of late.entries()) {
      const part = parts[i];
      if (part && poison.size > 0) await this.handlePoison(part.partition, part.records, poison);
    }
    this.view.progressed();
  }

  /** Stops reading the transaction topic and drops what the gate held (a rebuild replays it; close ends it). */
  async stopTransactions(): Promise<void> {
    await this.view.transactions.stop();
  }

  /** The chunk's poison to the policy, or an unreadable topic's failure; false when the view failed (do not apply). */
  private async handlePoison(
    partition: number,
    records: readonly FetchedRecord[],
    poison: ReadonlyMap<number, Poison>,
    unreadable?: string,
  ): Promise<boolean> {
    const failure = unreadable ?? (await this.view.poison.handle(partition, records, poison));
    if (failure !== undefined) this.view.fail('poison', failure);
    return failure === undefined;
  }
}
