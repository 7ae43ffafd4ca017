// The state service (started by main.ts): reads the configuration, materializes every dataset as a view, serves HTTP.
import { stateServiceSchema } from '../common/config.ts';
import { bootstrap, refuseStart } from '../common/bootstrap.ts';
import { HotstateView } from '../lib/view/view.ts';
import { ChangeLog } from './change-log.ts';
import { buildStateApp } from './app.ts';
import { fetchFromPeers, SnapshotSchedule } from './snapshots.ts';
import { dropPreloads } from '../lib/snapshot/base-loader.ts';
import { settleWithin } from '../lib/logger.ts';
import { kafkaSecurity, registryTarget } from '../lib/settings/security-settings.ts';
import { TokenSet } from '../common/token-set.ts';
import { SlotMonitor } from './slot-monitor.ts';

const { config, logger, metrics, lifecycle } = bootstrap('hotstate-state', stateServiceSchema);

const views = new Map<string, HotstateView>();
const changeLogs = new Map<string, ChangeLog>();
const snapshotDir = config.HOTSTATE_SNAPSHOT_DIR;
const snapshots =
  snapshotDir === undefined
    ? undefined
    : new SnapshotSchedule(
        views,
        { dir: snapshotDir, intervalMs: config.HOTSTATE_SNAPSHOT_INTERVAL_MS, keep: config.HOTSTATE_SNAPSHOT_KEEP },
        logger,
      );
const app = buildStateApp({
  views,
  changeLogs,
  metrics,
  logger,
  minVersionTimeoutMs: config.HOTSTATE_MIN_VERSION_TIMEOUT_MS,
  cursorTtlMs: config.HOTSTATE_CURSOR_TTL_MS,
  bodyLimitBytes: config.HOTSTATE_BODY_LIMIT_BYTES,
  readyMaxStaleMs: config.HOTSTATE_READY_MAX_STALE_MS,
  feedLimits: { maxBufferedBytes: config.HOTSTATE_FEED_MAX_BUFFERED_BYTES, maxFeeds: config.HOTSTATE_MAX_FEEDS },
  shuttingDown: lifecycle.shuttingDown,
  ...(snapshots ? { snapshots } : {}),
  ...(config.HOTSTATE_OPERATOR_TOKEN === undefined ? {} : { operatorToken: config.HOTSTATE_OPERATOR_TOKEN }),
  ...(config.HOTSTATE_READ_TOKEN === undefined && config.HOTSTATE_READ_TOKENS_FILE === undefined
    ? {}
    : {
        readTokens: new TokenSet({
          token: config.HOTSTATE_READ_TOKEN,
          file: config.HOTSTATE_READ_TOKENS_FILE,
          onReloadError: (error) => {
            logger.warn(
              { reason: error.message },
              'the read token file changed: applied without what it could not use',
            );
          },
        }),
      }),
});
lifecycle.attach(app);
// A last snapshot before the views close, within half of the shutdown budget (a restart then starts from it).
lifecycle.onShutdown(() =>
  settleWithin(logger, 'the final snapshot', snapshots?.stop(), config.HOTSTATE_SHUTDOWN_TIMEOUT_MS / 2),
);
lifecycle.onShutdown(async () => {
  await Promise.all([...views.values()].map((view) => view.close()));
});

// A refusal while starting (a misaddressed registry, refused credentials, a missing topic) is one log line and an
// exit with the documented code.
try {
  if (snapshotDir !== undefined && config.HOTSTATE_SNAPSHOT_PEERS.length > 0) {
    await fetchFromPeers(
      config.HOTSTATE_SNAPSHOT_PEERS,
      config.HOTSTATE_DATASETS,
      snapshotDir,
      config.HOTSTATE_OPERATOR_TOKEN,
      logger,
    );
  }

  for (const dataset of config.HOTSTATE_DATASETS) {
    const view = new HotstateView({
      kafka: { brokers: config.KAFKA_BROKERS, clientId: 'hotstate-state', logger, ...kafkaSecurity(config) },
      registryUrl: registryTarget(config.SCHEMA_REGISTRY_URL, config),
      topic: dataset,
      poisonPolicy: config.HOTSTATE_POISON_POLICY,
      createDeadLetterTopic: config.HOTSTATE_DEAD_LETTER_CREATE,
      healthCheckIntervalMs: config.HOTSTATE_HEALTH_CHECK_INTERVAL_MS,
      staleAfterMs: config.HOTSTATE_STALE_AFTER_MS,
      ...(snapshotDir === undefined ? {} : { snapshot: { dir: snapshotDir } }),
      // A CDC dataset `<connector>.<schema>.<table>`: minSourceLsn waits on that connector's committed offset.
      ...(config.KAFKA_CONNECT_URL === undefined
        ? {}
        : { source: { connectUrl: config.KAFKA_CONNECT_URL, connector: dataset.split('.')[0] ?? dataset } }),
      ...(config.HOTSTATE_CDC_TRANSACTIONS === 'whole' ? {} : { transactions: false as const }),
      metrics,
      logger,
    });
    const log = new ChangeLog(dataset, config.HOTSTATE_CHANGE_BUFFER);
    // Before the replay starts, so the log has no gap: it keeps the last HOTSTATE_CHANGE_BUFFER changes, so of the
    // replay it hears (and the view decodes) only each partition's last that many records.
    view.onChange(
      (change) => {
        log.record(change);
      },
      {
        replayTail: config.HOTSTATE_CHANGE_BUFFER,
        onReplayWindow: (from) => {
          log.topicId = view.version.topicId; // a replay starts on a described topic
          log.startFrom(from);
        },
      },
    );
    view.on('rebuild', () => {
      log.reset();
    });
    views.set(dataset, view);
    changeLogs.set(dataset, log);
    await view.start();
  }
  dropPreloads(); // a snapshot main.ts began loading for a dataset that did not take it
  snapshots?.start();
  if (config.HOTSTATE_CDC_DATABASE_URL !== undefined) {
    const slots = new SlotMonitor(config.HOTSTATE_CDC_DATABASE_URL, config.HOTSTATE_DATASETS, metrics, logger);
    slots.start(config.HOTSTATE_CDC_SLOT_INTERVAL_MS);
    lifecycle.onShutdown(() => {
      slots.stop();
      return Promise.resolve();
    });
  }
  // Listen before the replays finish: /healthz answers at once, /readyz once every dataset is ready.
  const address = await app.listen({ host: config.HOTSTATE_HTTP_HOST, port: config.HOTSTATE_HTTP_PORT });
  logger.info({ address, datasets: config.HOTSTATE_DATASETS }, 'state service listening');
} catch (error) {
  refuseStart(logger, error);
}
