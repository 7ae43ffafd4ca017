import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseJavaVersion } from '../../infra/java.ts';
import { brokerProperties } from '../../infra/kafka-broker.ts';
import { javaNeededBy } from '../../infra/schema-registry.ts';
import { endpoints, loadInfraSettings } from '../../infra/settings.ts';

describe('infra settings', () => {
  test('defaults match the documented ports and versions', () => {
    const s = loadInfraSettings({});
    assert.equal(s.brokerCount, 1);
    assert.equal(s.kafkaPort, 9092);
    assert.equal(s.registryPort, 8081);
    assert.equal(s.kafkaVersion, '4.1.1');
    assert.equal(s.registryVersion, '3.3.3');
    assert.equal(s.registryVersionPinned, false);
    assert.deepEqual(endpoints(s), {
      kafkaBrokers: ['127.0.0.1:9092'],
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
    });
  });

  test('one error lists every bad setting', () => {
    assert.throws(
      () =>
        loadInfraSettings({
          HOTSTATE_KAFKA_PORT: 'abc',
          HOTSTATE_KAFKA_BROKER_COUNT: '2',
          HOTSTATE_KAFKA_VERSION: 'latest',
        }),
      (error: Error) => {
        assert.match(error.message, /HOTSTATE_KAFKA_PORT="abc": expected an integer/);
        assert.match(error.message, /HOTSTATE_KAFKA_BROKER_COUNT=2: expected 1 or 3/);
        assert.match(error.message, /HOTSTATE_KAFKA_VERSION="latest": expected a version/);
        return true;
      },
    );
  });

  test('a registry port inside the Kafka port range is refused', () => {
    assert.throws(
      () => loadInfraSettings({ HOTSTATE_KAFKA_BROKER_COUNT: '3', HOTSTATE_REGISTRY_PORT: '9095' }),
      /collides with the Kafka ports 9092-9097/,
    );
  });

  test('three brokers get their own ports and a replicated configuration', () => {
    const s = loadInfraSettings({ HOTSTATE_KAFKA_BROKER_COUNT: '3', HOTSTATE_KAFKA_PORT: '19092' });
    assert.deepEqual(endpoints(s).kafkaBrokers, ['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096']);
    const props = brokerProperties(s, 1, '/data');
    assert.match(props, /^node\.id=2$/m);
    assert.match(props, /^controller\.quorum\.voters=1@127\.0\.0\.1:19093,2@127\.0\.0\.1:19095,3@127\.0\.0\.1:19097$/m);
    assert.match(props, /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:19094,CONTROLLER:\/\/127\.0\.0\.1:19095$/m);
    assert.match(props, /^default\.replication\.factor=3$/m);
    assert.match(props, /^min\.insync\.replicas=2$/m);
    assert.match(props, /^group\.initial\.rebalance\.delay\.ms=0$/m);
  });

  test('Java versions are parsed from every `java -version` style', () => {
    assert.equal(parseJavaVersion('openjdk version "17.0.15" 2025-04-15'), 17);
    assert.equal(parseJavaVersion('openjdk version "25" 2025-09-16'), 25);
    assert.equal(parseJavaVersion('java version "1.8.0_392"'), 8);
    assert.equal(parseJavaVersion('garbage'), undefined);
  });

  test('Apicurio 3.3+ needs Java 21, earlier 3.x Java 17', () => {
    assert.equal(javaNeededBy('3.3.3'), 21);
    assert.equal(javaNeededBy('3.0.9'), 17);
    assert.equal(javaNeededBy('4.0.0'), 21);
  });
});
