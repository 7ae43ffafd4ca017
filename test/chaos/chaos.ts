// `npm run chaos`: a 3-broker cluster (the launcher, on free ports, in a folder of its own), writers with per-key
// sequence numbers, view processes (one killed with kill -9 and restarted, one started mid-run) and leader kills;
// then every acknowledgement, view and change stream is checked against the topic as kcat reads it.
// Prints one table; exits 1 when a bar is missed. `--kills 2 --calm-ms 4000 --interval-ms 9000` is the short run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { down, stopComponent, up } from '../../infra/launcher.ts';
import { freePortBlock } from '../helpers/ports.ts';
import { loadInfraSettings } from '../../infra/settings.ts';
import { isHotstateError } from '../../services/lib/errors.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import {
  createPlatformaticTransport,
  withTransport,
} from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import { formatVersionToken } from '../../services/lib/version-token.ts';
import {
  checkAcks,
  checkChangeStream,
  digestOf,
  falseFreshness,
  finalState,
  readTopicWithKcat,
  resurrectedDeletes,
  type Ack,
} from './checks.ts';
import { ViewWorker } from './workers.ts';
import { withKafkajsProducer } from './kafkajs-producer.ts';
import { runService } from '../helpers/services.ts';

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '6' },
    'min-ops': { type: 'string', default: '50000' },
    keys: { type: 'string', default: '2000' },
    writers: { type: 'string', default: '48' },
    'calm-ms': { type: 'string', default: '10000' },
    'interval-ms': { type: 'string', default: '14000' },
    'restart-after-ms': { type: 'string', default: '6000' },
    /** Which client writes: hotstate's default transport, or kafkajs behind the same seam (for the comparison). */
    producer: { type: 'string', default: 'platformatic' },
  },
});
const kills = Number(args.kills);
const minOps = Number(args['min-ops']);
const keyCount = Number(args.keys);
const writerCount = Number(args.writers);
const calmMs = Number(args['calm-ms']);
const intervalMs = Number(args['interval-ms']);
const restartAfterMs = Number(args['restart-after-ms']);
const STALE_AFTER_MS = 3000; // the workers' setting
const log = (line: string): void => {
  process.stderr.write(`chaos: ${line}\n`);
};

/**
 * Starts the state and ingest services while one broker is down: both must become ready, and a write through the
 * ingest service must be readable through the state service with its version.
 */
async function servicesStartDuringOutage(
  brokers: string,
  registry: string,
  topic: string,
  since: number,
): Promise<string> {
  const env = {
    KAFKA_BROKERS: brokers,
    SCHEMA_REGISTRY_URL: registry,
    HOTSTATE_DATASETS: topic,
    HOTSTATE_HTTP_HOST: '127.0.0.1',
    HOTSTATE_HTTP_PORT: '0',
    HOTSTATE_INGEST_TOKEN: 'chaos-ingest-token-0123456789',
    HOTSTATE_LOG_LEVEL: 'warn',
  };
  const started = [
    runService('state', { ...env, HOTSTATE_LOG_LEVEL: 'info' }),
    runService('ingest', { ...env, HOTSTATE_LOG_LEVEL: 'info' }),
  ];
  try {
    const urls = await Promise.all(
      started.map(async ({ output, child }) => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const line = output.find((l) => l.includes('service listening'));
          if (line) return (JSON.parse(line) as { address: string }).address;
          if (child.exitCode !== null || Date.now() > deadline)
            throw new Error(`a service did not start:\n${output.slice(-60).join('\n')}`);
          await sleep(50);
        }
      }),
    );
    const [stateUrl = '', ingestUrl = ''] = urls;
    for (const url of urls) {
      const deadline = Date.now() + 60_000;
      while ((await fetch(`${url}/readyz`)).status !== 200) {
        if (Date.now() > deadline) throw new Error(`${url} not ready: ${await (await fetch(`${url}/readyz`)).text()}`);
        await sleep(100);
      }
    }
    const readyAfter = (Date.now() - since) / 1000;
    const put = await fetch(`${ingestUrl}/v1/datasets/${topic}/records/outage-probe`, {
      method: 'PUT',
      headers: { authorization: 'Bearer chaos-ingest-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'outage-probe', seq: 1, payload: 'x' }),
    });
    if (!put.ok) return `write refused: ${String(put.status)} ${await put.text()}`;
    const { token } = (await put.json()) as { token: string };
    const get = await fetch(`${stateUrl}/v1/datasets/${topic}/keys/outage-probe?minVersion=${token}`);
    return get.ok
      ? `ready ${readyAfter.toFixed(1)} s after the kill; write then read with minVersion ok`
      : `read failed: ${String(get.status)}`;
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  } finally {
    for (const { child, exited } of started) {
      child.kill('SIGTERM');
      await exited;
    }
  }
}

const startedAt = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'hotstate-chaos-'));
const settings = loadInfraSettings({
  ...process.env,
  HOTSTATE_INFRA_DIR: join(dir, 'infra'),
  HOTSTATE_KAFKA_BROKER_COUNT: '3',
  HOTSTATE_KAFKA_PORT: String(await freePortBlock(6)),
  HOTSTATE_REGISTRY_PORT: String(await freePortBlock(2)),
});
const workers: ViewWorker[] = [];
let exitCode = 1;
const teardown = async (): Promise<void> => {
  await Promise.all(workers.map((w) => w.stop()));
  await down(settings).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
};
// A crash outside the awaited flow (an emitter's error) or a signal skips the finally below: tear the private cluster
// down anyway, so no JVM is left running on random ports.
const abort = (reason: string): void => {
  log(`aborted: ${reason}`);
  void teardown().finally(() => process.exit(1));
};
process.once('uncaughtException', (error) => {
  abort(error.stack ?? String(error));
});
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    abort(signal);
  });
try {
  const { endpoints } = await up(settings, log);
  const brokers = endpoints.kafkaBrokers.join(',');
  const registryUrl = endpoints.schemaRegistryUrl;
  const topic = 'chaos-dataset';
  await withTransport({ brokers: endpoints.kafkaBrokers }, (admin) =>
    ensureDatasetTopic(admin, { topic, partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 }),
  );
  await registerValueSchema(registryUrl, topic, {
    type: 'record',
    name: 'ChaosItem',
    namespace: 'hotstate.chaos',
    fields: [
      { name: 'key', type: 'string' },
      { name: 'seq', type: 'long' },
      { name: 'payload', type: 'string' },
    ],
  });
  const producerLog = createLogger({ level: process.env.CHAOS_LOG_LEVEL ?? 'warn', stderr: true }).child({
    component: 'chaos-producer',
  });
  const kafka = { brokers: endpoints.kafkaBrokers, logger: producerLog };
  const producerTransport =
    args.producer === 'kafkajs'
      ? withKafkajsProducer(createPlatformaticTransport(kafka), endpoints.kafkaBrokers)
      : undefined;
  const producer = await createProducer({
    kafka,
    registryUrl,
    topic,
    sendTimeoutMs: 30_000,
    ...(producerTransport ? { transport: producerTransport } : {}),
  });
  const workerEnv = { brokers, registry: registryUrl, topic };
  const startWorker = (name: string): ViewWorker => {
    const worker = new ViewWorker(name, dir, workerEnv);
    workers.push(worker);
    return worker;
  };
  const [viewA, viewB] = [startWorker('view-a'), startWorker('view-b')];
  await Promise.all([viewA.whenReady(60_000), viewB.whenReady(60_000)]);

  // ---- writers ----
  const acks: Ack[] = [];
  const errors = new Map<string, number>();
  /** Writes that failed, by what the error said about them: `key seq`. */
  const failed = { notWritten: new Set<string>(), uncertain: new Set<string>() };
  const attemptedUpserts = new Map<string, number[]>();
  const seqs = new Map<string, number>();
  let attempts = 0;
  let writing = true;
  const writer = async (): Promise<void> => {
    while (writing) {
      const key = `k${String(Math.floor(Math.random() * keyCount))}`;
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      const op = Math.random() < 0.1 ? 'delete' : 'upsert';
      attempts++;
      if (op === 'upsert') attemptedUpserts.set(key, [...(attemptedUpserts.get(key) ?? []), seq]);
      try {
        const headers = { traceId: String(seq) };
        const result =
          op === 'delete'
            ? await producer.delete(key, headers)
            : await producer.upsert(key, { key, seq, payload: 'x'.repeat(64) }, headers);
        acks.push({ key, seq, op, partition: result.partition, offset: result.offset, t: Date.now() });
      } catch (error) {
        const code = isHotstateError(error) ? error.code : 'other';
        if (!errors.has(code))
          log(`first ${code} at +${String(Date.now() - startedAt)} ms: ${(error as Error).message.slice(0, 300)}`);
        errors.set(code, (errors.get(code) ?? 0) + 1);
        (code === 'HOTSTATE_ERR_TRANSPORT_KAFKA' ? failed.notWritten : failed.uncertain).add(`${key} ${String(seq)}`);
        await sleep(100);
      }
    }
  };
  const writers = Array.from({ length: writerCount }, writer);

  // ---- read-your-writes probes: the latest acknowledged write, in every ready view ----
  const probes = { sent: 0, resolved: 0, failed: 0, behind: 0 };
  const control = { probing: true };
  const prober = (async (): Promise<void> => {
    while (control.probing) {
      await sleep(500);
      const ack = acks[acks.length - 1];
      if (!ack) continue;
      const token = formatVersionToken({ topic, positions: new Map([[ack.partition, ack.offset + 1]]) });
      await Promise.all(
        workers
          .filter((w) => w.ready)
          .map(async (w) => {
            probes.sent++;
            const answer = await w.request({ type: 'check', token, key: ack.key });
            if (w.exited) return; // killed on purpose while waiting
            if (answer.ok !== true) {
              probes.failed++;
              log(`${w.name}: waitFor failed: ${String(answer.error)}`);
              return;
            }
            probes.resolved++;
            const seen = answer.seq as number | null;
            const acceptable =
              seen === null ? ack.op === 'delete' || (seqs.get(ack.key) ?? 0) > ack.seq : seen >= ack.seq;
            if (!acceptable) probes.behind++;
          }),
      );
    }
  })();

  // ---- calm, then leader kills ----
  await sleep(calmMs);
  const calmAcks = acks.length;
  const calmRate = calmAcks / (calmMs / 1000);
  const chaosStart = Date.now();
  const transport = createPlatformaticTransport({ brokers: endpoints.kafkaBrokers });
  const killsDone: Array<{ node: string; partition: number; killedAt: number; electedAt: number }> = [];
  let viewC: ViewWorker | undefined;
  let servicesDuringOutage: Promise<string> = Promise.resolve('not tried');
  for (let k = 0; k < kills; k++) {
    const partition = k % 3;
    const layout = await transport.layout(topic);
    const leader = layout?.partitions[partition]?.leader ?? -1;
    if (leader < 1) throw new Error(`partition ${String(partition)} has no leader before kill ${String(k + 1)}`);
    const node = `kafka-${String(leader)}`;
    const killedAt = Date.now();
    await stopComponent(settings, node, 'kill');
    log(
      `kill ${String(k + 1)} at +${String(killedAt - startedAt)} ms: kill -9 ${node} (leader of partition ${String(partition)})`,
    );
    let electedAt = 0;
    while (electedAt === 0 && Date.now() - killedAt < 30_000) {
      const now = await transport.layout(topic).catch(() => undefined);
      const newLeader = now?.partitions[partition]?.leader ?? -1;
      if (newLeader > 0 && newLeader !== leader) electedAt = Date.now();
      else await sleep(100);
    }
    killsDone.push({ node, partition, killedAt, electedAt: electedAt || Number.NaN });
    if (k === 0) {
      viewC = startWorker('view-c'); // a view started mid-run, while a broker is down
      servicesDuringOutage = servicesStartDuringOutage(endpoints.kafkaBrokers.join(','), registryUrl, topic, killedAt);
    }
    if (k === 1) {
      await viewA.kill();
      log('kill -9 view-a; starting it again');
      startWorker('view-a2');
    }
    await sleep(Math.max(0, restartAfterMs - (Date.now() - killedAt)));
    await up(settings, log);
    // The next kill waits for the restarted broker to be back in every in-sync replica set: killing another broker
    // before that leaves partitions below min.insync.replicas, where no client can write at all.
    const healedBy = Date.now() + 60_000;
    while (
      Date.now() < healedBy &&
      !((await transport.layout(topic).catch(() => undefined))?.partitions.every((p) => p.inSync.length === 3) ?? false)
    )
      await sleep(200);
    await sleep(Math.max(0, intervalMs - (Date.now() - killedAt)));
  }
  while (acks.length < minOps) await sleep(200);
  writing = false;
  await Promise.all(writers);
  const chaosMs = Date.now() - chaosStart;
  const servicesVerdict = await servicesDuringOutage;
  const chaosRate = (acks.length - calmAcks) / (chaosMs / 1000);
  control.probing = false;
  await prober;

  // ---- let every view catch up, then compare with the topic ----
  const ends = await transport.offsets(topic);
  const running = workers.filter((w) => !w.exited);
  await viewC?.whenReady(60_000);
  const caughtUp = async (w: ViewWorker): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const last = w.samples[w.samples.length - 1];
      if (last && ends.every((e) => (last.positions[String(e.partition)] ?? -1) >= e.end)) return;
      await sleep(200);
    }
    throw new Error(`${w.name} did not catch up within 60 s`);
  };
  await Promise.all(running.map(caughtUp));
  const records = readTopicWithKcat(brokers, topic);
  const state = finalState(records);
  const topicDigest = digestOf(state);
  const ackVerdict = checkAcks(acks, records);
  const resurrected = resurrectedDeletes(acks, attemptedUpserts, state);
  const inTopic = new Set(records.map((r) => `${r.key} ${String(r.seq)}`));
  const notWrittenButThere = [...failed.notWritten].filter((w) => inTopic.has(w)).length;
  const uncertainThere = [...failed.uncertain].filter((w) => inTopic.has(w)).length;
  const digests = await Promise.all(running.map(async (w) => ({ w, answer: await w.request({ type: 'digest' }) })));
  const streams = running.map((w) => ({ w, verdict: checkChangeStream(w.changesFile, records) }));

  // Recovery after each kill: first acknowledgement, and each view's first progress, after the election.
  const recoveries = killsDone.map((kill) => {
    const firstAck = acks.find((a) => a.t > kill.electedAt)?.t ?? Number.POSITIVE_INFINITY;
    const viewTimes = workers
      .filter((w) => w.readyAt !== undefined && w.readyAt < kill.killedAt)
      .map((w) => {
        const before = w.samples.filter((s) => s.t <= kill.electedAt).pop();
        const sum = (s: { positions: Record<string, number> } | undefined): number =>
          Object.values(s?.positions ?? {}).reduce((a, b) => a + b, 0);
        const progressed = w.samples.find((s) => s.t > kill.electedAt && sum(s) > sum(before));
        return w.exited && !progressed ? 0 : (progressed?.t ?? Number.POSITIVE_INFINITY) - kill.electedAt;
      });
    return {
      election: (kill.electedAt - kill.killedAt) / 1000,
      producer: (firstAck - kill.electedAt) / 1000,
      views: Math.max(0, ...viewTimes) / 1000,
    };
  });
  const maxProducerRecovery = Math.max(...recoveries.map((r) => r.producer));
  const maxViewRecovery = Math.max(...recoveries.map((r) => r.views));
  const falseFresh = workers.reduce((n, w) => n + falseFreshness(w.samples, acks, STALE_AFTER_MS, 2500), 0);

  const rows: Array<[string, string, boolean]> = [
    ['acknowledged operations', `${String(acks.length)} of ${String(attempts)} attempted`, acks.length >= minOps],
    ['leader kills', String(killsDone.length), killsDone.length >= kills],
    ['acknowledged writes lost', String(ackVerdict.lost), ackVerdict.lost === 0],
    ['acknowledged versions holding another record', String(ackVerdict.holdAnother), ackVerdict.holdAnother === 0],
    ['NaN / missing offsets', String(ackVerdict.badOffsets), ackVerdict.badOffsets === 0],
    ['resurrected deletes', String(resurrected), resurrected === 0],
    [
      'writes reported "not written" found in the topic',
      `${String(notWrittenButThere)} of ${String(failed.notWritten.size)}`,
      notWrittenButThere === 0,
    ],
    [
      'writes reported "outcome unknown" found in the topic',
      `${String(uncertainThere)} of ${String(failed.uncertain.size)}`,
      true,
    ],
    ...streams.map(({ w, verdict }): [string, string, boolean] => [
      `${w.name} change stream vs topic`,
      `${String(verdict.notifications)} notifications, ${String(verdict.duplicates)} duplicates, ${String(verdict.gaps)} gaps, ${String(verdict.reorders)} reorders`,
      verdict.duplicates === 0 && verdict.gaps === 0 && verdict.reorders === 0,
    ]),
    ...digests.map(({ w, answer }): [string, string, boolean] => [
      `${w.name} digest`,
      `${String(answer.digest).slice(0, 12)} (${String(answer.keys)} keys)`,
      answer.digest === topicDigest,
    ]),
    [
      'topic digest (kcat)',
      `${topicDigest.slice(0, 12)} (${String(state.size)} keys, ${String(records.length)} records)`,
      true,
    ],
    [
      'read-your-writes probes',
      `${String(probes.resolved)}/${String(probes.sent)} resolved, ${String(probes.failed)} failed, ${String(probes.behind)} older than the acked write`,
      probes.failed === 0 && probes.behind === 0 && probes.sent > 0,
    ],
    ['election time per kill (s)', recoveries.map((r) => r.election.toFixed(1)).join(' '), true],
    ['producer acks again after election, max (s)', maxProducerRecovery.toFixed(1), maxProducerRecovery <= 10],
    ['views apply again after election, max (s)', maxViewRecovery.toFixed(1), maxViewRecovery <= 10],
    ['view status samples "ready" while not advancing', String(falseFresh), falseFresh === 0],
    ['state + ingest services started while a broker was down', servicesVerdict, servicesVerdict.startsWith('ready')],
    [
      'view started while a broker was down',
      viewC?.readyAt === undefined
        ? 'never ready'
        : `ready after ${((viewC.readyAt - viewC.startedAt) / 1000).toFixed(1)} s`,
      viewC?.readyAt !== undefined,
    ],
    [
      'throughput calm / chaos (acks/s)',
      `${calmRate.toFixed(0)} / ${chaosRate.toFixed(0)} (${(chaosRate / calmRate).toFixed(2)})`,
      chaosRate >= calmRate / 2,
    ],
    ['write errors by code', [...errors].map(([code, n]) => `${code} ${String(n)}`).join(', ') || 'none', true],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  process.stdout.write(
    `\nhotstate chaos (producer: ${args.producer}): 3 brokers (RF 3, min ISR 2), ${String(writerCount)} writers over ${String(keyCount)} keys, ${String(workers.length)} view processes\n`,
  );
  for (const [name, value, ok] of rows)
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(width)}  ${value}\n`);
  exitCode = rows.every(([, , ok]) => ok) ? 0 : 1;
  await producer.close();
  await producerTransport?.close();
  await transport.close();
} catch (error) {
  log(`aborted: ${(error as Error).stack ?? String(error)}`);
} finally {
  await teardown();
}
process.exit(exitCode);
