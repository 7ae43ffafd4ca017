import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHotstateError } from '../../services/lib/errors.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { describeTopicConfigs, ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { testKafka, testTransport, uniqueTopicName } from '../helpers/infra.ts';

test('an existing topic that is not compacted is refused, and left as it was', async (t) => {
  const kafka = testKafka(t);
  const topic = uniqueTopicName(t);
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }],
    }),
  );
  t.after(() => withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] })));
  await assert.rejects(ensureDatasetTopic(testTransport(t), { topic }), (error: unknown) => {
    assert.ok(isHotstateError(error, 'HOTSTATE_ERR_TOPIC_SETTINGS'));
    assert.match(error.message, /cleanup\.policy=delete: records are deleted by age or size/);
    return true;
  });
  assert.equal((await describeTopicConfigs(testTransport(t), topic))['cleanup.policy'], 'delete');
});

test('ensureDatasetTopic is idempotent and applies extra configs', async (t) => {
  const kafka = testKafka(t);
  const topic = uniqueTopicName(t);
  t.after(() => withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] })));
  const first = await ensureDatasetTopic(testTransport(t), {
    topic,
    partitions: 2,
    configs: { 'min.compaction.lag.ms': '0', 'segment.ms': '100' },
  });
  const second = await ensureDatasetTopic(testTransport(t), { topic, partitions: 2 });
  assert.equal(first['cleanup.policy'], 'compact');
  assert.equal(first['segment.ms'], '100');
  assert.deepEqual(second, first);
});
