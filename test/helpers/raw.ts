// Raw writes that bypass the producer library's checks, for poison and edge-case records.
import type { TestContext } from 'node:test';
import type { Message } from 'kafkajs';
import { createSafeProducer } from './kafkajs-client.ts';
import { testKafka } from './infra.ts';

export async function rawSend(t: TestContext, topic: string, messages: Message[]): Promise<void> {
  const producer = createSafeProducer(testKafka(t));
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

export const framed = (schemaId: number, body: Buffer): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
};
