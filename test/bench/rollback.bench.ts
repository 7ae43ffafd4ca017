// Rollback of a whole dataset: N keys, a version taken, then W writes (changes, deletes and new keys) as a bad
// upstream would make them; `hotstate rollback --to <version> --yes` runs as a real CLI process, and the content
// digest of the topic at the version it reports is compared with the digest at the target version, both rebuilt from
// the topic by the library. Each run uses a new topic.
//   npm run infra -- up && npm run bench:rollback -- [keys=100000] [writes=10000]
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionFromEnv, projectRoot } from '../../infra/settings.ts';
import {
  loadDatasetVersion,
  parseVersionRef,
  readTopicNow,
  tokenOfVersion,
} from '../../services/lib/history/dataset-version.ts';
import { contentDigest } from '../../services/lib/history/diff.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { valueSubject } from '../../services/lib/registry.ts';
import { withTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import { registrySchemaSource, WriterSchemas } from '../../services/lib/core/writer-schemas.ts';
import { schemaText } from '../helpers/datasets.ts';

const keys = Number(process.argv[2] ?? 100_000);
const writes = Number(process.argv[3] ?? 10_000);
const { brokers, registryUrl } = connectionFromEnv();
const topic = `bench-rollback-${String(keys)}-${randomUUID().slice(0, 8)}`;
const value = (key: string, n: number): object => ({
  instrument: key,
  price: n,
  currency: 'EUR',
  updatedAt: 1_795_000_000_000 + n,
  venue: 'XPAR',
});

await withTransport({ brokers }, async (transport) => {
  await ensureDatasetTopic(transport, { topic, partitions: 3 });
  const producer = await createProducer({
    kafka: { brokers },
    registryUrl,
    topic,
    schema: schemaText('instrument-prices', 2),
    registerSchema: true,
  });
  for (let i = 0; i < keys; i += 5000) {
    await producer.send(
      Array.from({ length: Math.min(5000, keys - i) }, (_, j) => ({
        key: `K${String(i + j)}`,
        value: value(`K${String(i + j)}`, i + j),
      })),
    );
  }
  const target = tokenOfVersion({
    topic,
    topicId: (await transport.layout(topic))?.topicId ?? '',
    positions: new Map((await transport.offsets(topic)).map((p) => [p.partition, p.end])),
  });
  // The bad batch: 70% changes of existing keys, 15% deletes, 15% new keys.
  const bad = Array.from({ length: writes }, (_, i) => {
    const kind = i % 20;
    if (kind < 14) return { key: `K${String((i * 7919) % keys)}`, value: value(`K${String(i)}`, -i) };
    if (kind < 17) return { key: `K${String((i * 104_729) % keys)}`, value: null };
    return { key: `NEW${String(i)}`, value: value(`NEW${String(i)}`, i) };
  });
  for (let i = 0; i < bad.length; i += 5000) await producer.send(bad.slice(i, i + 5000));
  await producer.close();

  const began = performance.now();
  const output = execFileSync(
    process.execPath,
    [
      '--disable-warning=TimeoutNegativeWarning',
      join(projectRoot, 'services', 'cli', 'main.ts'),
      'rollback',
      '-t',
      topic,
      '--to',
      target,
      '--yes',
      '--json',
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    },
  );
  const seconds = (performance.now() - began) / 1000;
  const outcome = JSON.parse(output) as {
    status: string;
    token: string;
    records: number;
    seconds: number;
    plan: {
      restored: number;
      reverted: number;
      deleted: number;
      unchanged: number;
      keysNow: number;
      keysAtTarget: number;
      targetDigest: string;
    };
  };

  const schemas = new WriterSchemas(registrySchemaSource(registryUrl), valueSubject(topic));
  const now = await readTopicNow(transport, topic);
  const digestAt = async (ref: string): Promise<string> =>
    contentDigest(await loadDatasetVersion(transport, schemas, topic, parseVersionRef(ref), now));
  const [targetDigest, resultDigest] = [await digestAt(target), await digestAt(outcome.token)];
  const { plan } = outcome;
  const lines = [
    `topic ${topic}: ${String(keys)} keys, then ${String(writes)} writes (70% changes, 15% deletes, 15% new keys)`,
    `plan:    ${String(plan.restored)} restored, ${String(plan.reverted)} reverted, ${String(plan.deleted)} deleted, ${String(plan.unchanged)} unchanged (${String(plan.keysNow)} keys now, ${String(plan.keysAtTarget)} at the target)`,
    `rollback: ${outcome.status}, ${String(outcome.records)} records written; ${outcome.seconds.toFixed(2)} s inside the command, ${seconds.toFixed(2)} s for the whole CLI process`,
    `digest at the target ${targetDigest.slice(0, 16)}, after the rollback ${resultDigest.slice(0, 16)}: ${targetDigest === resultDigest ? 'ok   equal' : 'MISS different'}`,
  ];
  for (const line of lines) console.log(line);
  mkdirSync(join(projectRoot, '.cache'), { recursive: true });
  writeFileSync(
    join(projectRoot, '.cache', 'bench-rollback.json'),
    JSON.stringify({ keys, writes, seconds, outcome, targetDigest, resultDigest }, null, 2),
  );
  await transport.deleteTopic(topic);
  if (targetDigest !== resultDigest) process.exitCode = 1;
});
