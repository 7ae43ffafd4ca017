// The hotstate Grafana dashboard, as code (Grafana Foundation SDK). `npm run dashboard` writes the JSON that
// Grafana provisions (infra/grafana/dashboards/hotstate.json); a test keeps the two in sync and runs every query
// against a real Prometheus.
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

const datasource = { type: 'prometheus', uid: '${datasource}' };
const views = 'instance=~"$instance", topic=~"$dataset"';
const instances = 'instance=~"$instance"';

interface Query {
  readonly expr: string;
  readonly legend: string;
}

/** Every panel: title, unit and queries. Error panels end in `or vector(0)` so they draw a zero line when all is well. */
export const panels: Array<{ row: string; title: string; unit: string; queries: Query[] }> = [
  {
    row: 'Views',
    title: 'Lag (records) per partition',
    unit: 'short',
    queries: [
      {
        expr: `max by (instance, topic, partition) (hotstate_view_lag_records{${views}})`,
        legend: '{{instance}} {{topic}}/{{partition}}',
      },
    ],
  },
  {
    row: 'Views',
    title: 'Lag (seconds)',
    unit: 's',
    queries: [
      { expr: `max by (instance, topic) (hotstate_view_lag_seconds{${views}})`, legend: '{{instance}} {{topic}}' },
    ],
  },
  {
    row: 'Views',
    title: 'Apply rate',
    unit: 'ops',
    queries: [
      {
        expr: `sum by (instance, topic, operation) (rate(hotstate_view_records_applied_total{${views}}[$__rate_interval]))`,
        legend: '{{instance}} {{topic}} {{operation}}',
      },
    ],
  },
  {
    row: 'Views',
    title: 'Update latency (record timestamp to visible)',
    unit: 's',
    queries: [
      {
        expr: `histogram_quantile(0.5, sum by (le, topic) (rate(hotstate_view_update_latency_seconds_bucket{${views}}[$__rate_interval])))`,
        legend: 'p50 {{topic}}',
      },
      {
        expr: `histogram_quantile(0.99, sum by (le, topic) (rate(hotstate_view_update_latency_seconds_bucket{${views}}[$__rate_interval])))`,
        legend: 'p99 {{topic}}',
      },
    ],
  },
  {
    row: 'Views',
    title: 'CDC: database commit to Kafka (source) beside Kafka to memory (view)',
    unit: 's',
    queries: [
      {
        expr: `histogram_quantile(0.99, sum by (le, topic) (rate(hotstate_view_source_latency_seconds_bucket{${views}}[$__rate_interval])))`,
        legend: 'p99 database → Kafka {{topic}}',
      },
      {
        expr: `histogram_quantile(0.99, sum by (le, topic) (rate(hotstate_view_update_latency_seconds_bucket{${views}}[$__rate_interval])))`,
        legend: 'p99 Kafka → memory {{topic}}',
      },
    ],
  },
  {
    row: 'Views',
    title: 'CDC replication slots: lag and WAL retained (bytes)',
    unit: 'bytes',
    queries: [
      { expr: 'max by (slot) (hotstate_cdc_slot_lag_bytes)', legend: 'lag {{slot}}' },
      { expr: 'max by (slot) (hotstate_cdc_slot_retained_bytes)', legend: 'retained {{slot}}' },
    ],
  },
  {
    row: 'Views',
    title: 'Ready',
    unit: 'bool',
    queries: [{ expr: `max by (instance, topic) (hotstate_view_ready{${views}})`, legend: '{{instance}} {{topic}}' }],
  },
  {
    row: 'Views',
    title: 'Replay duration',
    unit: 's',
    queries: [
      {
        expr: `max by (instance, topic) (hotstate_view_replay_duration_seconds{${views}})`,
        legend: '{{instance}} {{topic}}',
      },
    ],
  },
  {
    row: 'Views',
    title: 'Position (replay progress)',
    unit: 'short',
    queries: [
      {
        expr: `max by (instance, topic, partition) (hotstate_view_position{${views}})`,
        legend: '{{instance}} {{topic}}/{{partition}}',
      },
    ],
  },
  {
    row: 'Views',
    title: 'Decode errors and dead letters',
    unit: 'short',
    queries: [
      {
        expr: `sum by (topic, reason) (increase(hotstate_view_decode_errors_total{${views}}[$__rate_interval])) or vector(0)`,
        legend: '{{topic}} {{reason}}',
      },
      {
        expr: `sum by (topic) (increase(hotstate_view_dead_letters_total{${views}}[$__rate_interval])) or vector(0)`,
        legend: 'dead letters {{topic}}',
      },
    ],
  },
  {
    row: 'Views',
    title: 'Keys held',
    unit: 'short',
    queries: [{ expr: `max by (instance, topic) (hotstate_view_keys{${views}})`, legend: '{{instance}} {{topic}}' }],
  },
  {
    row: 'Views',
    title: 'Memory',
    unit: 'bytes',
    queries: [
      { expr: `max by (instance) (process_resident_memory_bytes{${instances}})`, legend: 'RSS {{instance}}' },
      { expr: `max by (instance) (nodejs_heap_size_used_bytes{${instances}})`, legend: 'heap {{instance}}' },
    ],
  },
  {
    row: 'Views',
    title: 'Pinned (records readers do not see yet)',
    unit: 'short',
    queries: [
      { expr: `max by (instance, topic) (hotstate_view_pinned{${views}})`, legend: 'pinned {{instance}} {{topic}}' },
      {
        expr: `max by (instance, topic) (hotstate_view_pinned_records_behind{${views}})`,
        legend: 'behind {{instance}} {{topic}}',
      },
    ],
  },
  {
    row: 'Snapshots',
    title: 'Snapshot age',
    unit: 's',
    queries: [
      {
        expr: `max by (instance, topic) (hotstate_view_snapshot_age_seconds{${views}})`,
        legend: '{{instance}} {{topic}}',
      },
    ],
  },
  {
    row: 'Snapshots',
    title: 'Starts from a snapshot, by outcome',
    unit: 'short',
    queries: [
      {
        expr: `sum by (topic, outcome) (increase(hotstate_view_snapshot_restores_total{${views}}[$__rate_interval])) or vector(0)`,
        legend: '{{topic}} {{outcome}}',
      },
    ],
  },
  {
    row: 'Producer',
    title: 'Records sent',
    unit: 'ops',
    queries: [
      {
        expr: `sum by (instance, topic, operation) (rate(hotstate_producer_records_total{${views}}[$__rate_interval]))`,
        legend: '{{instance}} {{topic}} {{operation}}',
      },
    ],
  },
  {
    row: 'Producer',
    title: 'Producer errors',
    unit: 'ops',
    queries: [
      {
        expr: `sum by (topic, code) (rate(hotstate_producer_errors_total{${views}}[$__rate_interval])) or vector(0)`,
        legend: '{{topic}} {{code}}',
      },
    ],
  },
  {
    row: 'Producer',
    title: 'Send latency (acks=-1)',
    unit: 's',
    queries: [
      {
        expr: `histogram_quantile(0.99, sum by (le, topic) (rate(hotstate_producer_send_duration_seconds_bucket{${views}}[$__rate_interval])))`,
        legend: 'p99 {{topic}}',
      },
    ],
  },
  {
    row: 'HTTP',
    title: 'Requests',
    unit: 'reqps',
    queries: [
      {
        expr: `sum by (instance, service, route) (rate(hotstate_http_requests_total{${instances}}[$__rate_interval]))`,
        legend: '{{service}} {{route}}',
      },
    ],
  },
  {
    row: 'HTTP',
    title: 'Request latency p99',
    unit: 's',
    queries: [
      {
        expr: `histogram_quantile(0.99, sum by (le, service, route) (rate(hotstate_http_request_duration_seconds_bucket{${instances}}[$__rate_interval])))`,
        legend: '{{service}} {{route}}',
      },
    ],
  },
  {
    row: 'HTTP',
    title: 'Errors (5xx)',
    unit: 'reqps',
    queries: [
      {
        expr: `sum by (instance, service, status) (rate(hotstate_http_requests_total{${instances}, status=~"5.."}[$__rate_interval])) or vector(0)`,
        legend: '{{service}} {{status}}',
      },
    ],
  },
  {
    row: 'Runtime',
    title: 'Event loop lag p99',
    unit: 's',
    queries: [{ expr: `max by (instance) (nodejs_eventloop_lag_p99_seconds{${instances}})`, legend: '{{instance}}' }],
  },
  {
    row: 'Runtime',
    title: 'GC time',
    unit: 's',
    queries: [
      {
        expr: `sum by (instance, kind) (rate(nodejs_gc_duration_seconds_sum{${instances}}[$__rate_interval]))`,
        legend: '{{instance}} {{kind}}',
      },
    ],
  },
];

// The v1 dashboard model on purpose: Grafana 11 (our compose file) provisions it from files; the SDK's dashboardv2
// builders target Grafana 12's new schema.
// eslint-disable-next-line @typescript-eslint/no-deprecated
export function buildDashboard(): Dashboard {
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  let builder = new DashboardBuilder('hotstate')
    .uid('hotstate')
    .tags(['hotstate'])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(datasource)
        .query('label_values(up{job="hotstate"}, instance)')
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    )
    .withVariable(
      new QueryVariableBuilder('dataset')
        .label('Dataset')
        .datasource(datasource)
        .query('label_values(hotstate_view_ready, topic)')
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
  let row = '';
  for (const panel of panels) {
    if (panel.row !== row) {
      row = panel.row;
      builder = builder.withRow(new RowBuilder(row));
    }
    let built = new PanelBuilder().title(panel.title).unit(panel.unit).datasource(datasource);
    for (const query of panel.queries)
      built = built.withTarget(new DataqueryBuilder().expr(query.expr).legendFormat(query.legend));
    builder = builder.withPanel(built);
  }
  return builder.build();
}
