// What a view does with poison records, by its policy: every one is counted, logged and reported (the `poison`
// event); `fail` stops the view at the first, `dead-letter` also copies them to the dead-letter topic, `skip` goes on.
import type { Logger } from '../logger.ts';
import type { ViewMetrics } from '../metrics.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import { keyText, type Poison } from '../core/poison.ts';
import type { DeadLetterWriter } from './dead-letters.ts';
import type { PoisonPolicy, ViewEvents } from './view-types.ts';

export class PoisonHandling {
  private readonly topic: string;
  private readonly policy: PoisonPolicy;
  private readonly metrics: ViewMetrics | undefined;
  private readonly log: Logger;
  private readonly report: (poison: ViewEvents['poison'][0]) => void;
  private deadLetters: DeadLetterWriter | undefined;

  constructor(
    topic: string,
    policy: PoisonPolicy,
    metrics: ViewMetrics | undefined,
    log: Logger,
    report: (poison: ViewEvents['poison'][0]) => void,
  ) {
    this.topic = topic;
    this.policy = policy;
    this.metrics = metrics;
    this.log = log;
    this.report = report;
  }

  /** Policy `dead-letter`: where poison records are copied (opened at the view's start). */
  useDeadLetters(writer: DeadLetterWriter): void {
    this.deadLetters = writer;
  }

  /** Reports the chunk's poison; undefined when the chunk may be applied, else why the view must fail (policy `fail`). */
  async handle(
    partition: number,
    records: readonly FetchedRecord[],
    poison: ReadonlyMap<number, Poison>,
  ): Promise<string | undefined> {
    const inOffsetOrder = [...poison].sort(([a], [b]) => a - b);
    for (const [i, why] of inOffsetOrder) {
      const record = records[i];
      if (!record) continue;
      const key = keyText(record);
      this.metrics?.decodeErrors.inc({ topic: this.topic, reason: why.reason });
      this.log.warn({ partition, offset: record.offset, key, reason: why.reason, detail: why.detail }, 'poison record');
      this.report({ partition, offset: record.offset, key, ...why });
    }
    if (this.policy === 'fail') {
      const [i, first] = inOffsetOrder[0] ?? [0, { detail: '' }];
      return `poison record at partition ${String(partition)} offset ${String(records[i]?.offset)}: ${first.detail}`;
    }
    if (this.deadLetters) {
      await this.deadLetters.write(
        inOffsetOrder.flatMap(([i, why]) => {
          const record = records[i];
          return record ? [{ partition, offset: record.offset, key: record.key, value: record.value, ...why }] : [];
        }),
      );
      this.metrics?.deadLetters.inc({ topic: this.topic }, poison.size);
    }
    return undefined;
  }

  close(): Promise<void> | undefined {
    return this.deadLetters?.close();
  }
}
