// Replication slots of the CDC connectors behind the state service's datasets, as Prometheus gauges: whether a
// reader is attached, how far it is behind the server's WAL (source lag in bytes), and how much WAL the slot makes
// PostgreSQL keep (an inactive slot keeps WAL until the disk fills: alerts.yml watches both). The slot of dataset
// `<connector>.<schema>.<table>` is the connector's name (what `hotstate cdc add` sets).
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../lib/logger.ts';
import { replicationSlot } from '../lib/cdc/replication-slot.ts';

export class SlotMonitor {
  private readonly databaseUrl: string;
  private readonly slots: string[];
  private readonly log: Logger;
  private readonly active: Gauge<'slot'>;
  private readonly lag: Gauge<'slot'>;
  private readonly retained: Gauge<'slot'>;
  private timer: NodeJS.Timeout | undefined;

  constructor(databaseUrl: string, datasets: readonly string[], metrics: Registry, log: Logger) {
    this.databaseUrl = databaseUrl;
    this.slots = [...new Set(datasets.filter((d) => d.includes('.')).map((d) => d.split('.')[0] ?? d))];
    this.log = log;
    const gauge = (name: string, help: string): Gauge<'slot'> =>
      new Gauge({ name, help, labelNames: ['slot'] as const, registers: [metrics] });
    this.active = gauge('hotstate_cdc_slot_active', 'Whether a reader (the Debezium task) is attached to the slot.');
    this.lag = gauge(
      'hotstate_cdc_slot_lag_bytes',
      "WAL bytes between the server's position and what the connector confirmed.",
    );
    this.retained = gauge('hotstate_cdc_slot_retained_bytes', 'WAL bytes PostgreSQL keeps for the slot.');
  }

  start(intervalMs: number): void {
    const poll = async (): Promise<void> => {
      for (const slot of this.slots) {
        try {
          const state = await replicationSlot(this.databaseUrl, slot);
          this.active.set({ slot }, state?.active ? 1 : 0);
          if (state) {
            this.lag.set({ slot }, state.lagBytes);
            this.retained.set({ slot }, state.retainedBytes);
          }
        } catch (error) {
          this.log.warn({ slot, reason: (error as Error).message }, 'cannot read the replication slot');
        }
      }
    };
    void poll();
    this.timer = setInterval(() => void poll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
