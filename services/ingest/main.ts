// Ingest service entry point: one producer per dataset (writing with the latest registered schema), HTTP writes.
import { ingestServiceSchema } from '../common/config.ts';
import { bootstrap, refuseStart } from '../common/bootstrap.ts';
import { createProducer, type HotstateProducer } from '../lib/producer/producer.ts';
import { buildIngestApp } from './app.ts';
import { TokenSet } from '../common/token-set.ts';
import { createPlatformaticTransport } from '../lib/transport/platformatic/platformatic-transport.ts';
import { registrySchemaSource } from '../lib/core/writer-schemas.ts';
import { kafkaSecurity, registryTarget } from '../lib/settings/security-settings.ts';

const { config, logger, metrics, lifecycle } = bootstrap('hotstate-ingest', ingestServiceSchema);

const kafka = { brokers: config.KAFKA_BROKERS, clientId: 'hotstate-ingest', logger, ...kafkaSecurity(config) };
const registry = registryTarget(config.SCHEMA_REGISTRY_URL, config);
const producers = new Map<string, HotstateProducer>();
try {
  for (const dataset of config.HOTSTATE_DATASETS) {
    producers.set(
      dataset,
      await createProducer({
        kafka,
        registryUrl: registry,
        topic: dataset,
        headers: { source: 'hotstate-ingest' },
        metrics,
      }),
    );
  }
} catch (error) {
  refuseStart(logger, error); // a misaddressed registry, refused credentials, an unsafe or missing topic
}
// Operator endpoints (rollback) read the topic; clients connect on first use.
const readTransport = createPlatformaticTransport({ ...kafka, clientId: 'hotstate-ingest-reads' });
const app = buildIngestApp({
  producers,
  metrics,
  logger,
  tokens: new TokenSet({
    token: config.HOTSTATE_INGEST_TOKEN,
    file: config.HOTSTATE_INGEST_TOKENS_FILE,
    onReloadError: (error) => {
      logger.warn({ reason: error.message }, 'the ingest token file changed: applied without what it could not use');
    },
  }),
  bodyLimitBytes: config.HOTSTATE_BODY_LIMIT_BYTES,
  maxBatchRecords: config.HOTSTATE_MAX_BATCH_RECORDS,
  shuttingDown: lifecycle.shuttingDown,
  ...(config.HOTSTATE_OPERATOR_TOKEN === undefined ? {} : { operatorToken: config.HOTSTATE_OPERATOR_TOKEN }),
  reads: { transport: readTransport, schemaSource: registrySchemaSource(registry) },
});
lifecycle.attach(app);
// In-flight requests finish first (app.close), then queued writes are flushed and producers disconnect.
lifecycle.onShutdown(async () => {
  await Promise.all([...producers.values()].map((producer) => producer.close()));
  await readTransport.close();
});
const address = await app.listen({ host: config.HOTSTATE_HTTP_HOST, port: config.HOTSTATE_HTTP_PORT });
logger.info({ address, datasets: config.HOTSTATE_DATASETS }, 'ingest service listening');
