import assert from 'node:assert/strict';
import { test } from 'node:test';
import { murmur2, partitionForKey } from '../../services/lib/kafka/murmur2.ts';

test('murmur2 matches the Java client (vectors from Kafka UtilsTest)', () => {
  const vectors: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [input, expected] of vectors) assert.equal(murmur2(Buffer.from(input)), expected, input);
});

test('partitionForKey agrees with kafkajs DefaultPartitioner for many keys', async () => {
  const kafkajs = (await import('kafkajs')).default;
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  for (let i = 0; i < 2000; i++) {
    const key = `key-${String(i)}-ü€😀`;
    assert.equal(
      partitionForKey(Buffer.from(key), 7),
      partitioner({ topic: 't', partitionMetadata, message: { key, value: null } }),
    );
  }
});
