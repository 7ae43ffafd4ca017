// The second pass of the integration flows: each file in this folder runs one flow file of test/integration or
// test/e2e again, unchanged, on the secured cluster the global setup starts: SASL_SSL with SCRAM-SHA-512 as the
// `hotstate` principal, every request under the StandardAuthorizer's ACLs, the registry over HTTPS with basic auth.
// The test helpers (helpers/infra.ts) hand the library, the services, the CLI, kafkajs, kcat, Java and Python these
// settings. Not run twice: the launcher's own tests, the chaos run and the demo (each starts its own plaintext
// cluster), the container image (it runs the services of the first pass), and secure-cluster.test.ts (secured only).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onSecuredCluster, testInfra } from '../helpers/infra.ts';
import { secureInfra } from '../helpers/secure-infra.ts';

/** Registers a check that the flows really use the secured cluster, then the flows of `file` (relative to test/). */
export async function runOnSecuredCluster(file: string): Promise<void> {
  process.env.HOTSTATE_TEST_CLUSTER = 'sasl_ssl';
  test(`${file} runs on the secured cluster: SASL_SSL, SCRAM-SHA-512, ACLs, registry over HTTPS with basic auth`, () => {
    const infra = testInfra();
    assert.ok(onSecuredCluster() && infra.secure);
    assert.deepEqual(infra.brokers, secureInfra().brokers);
    assert.equal(infra.kafka.sasl?.mechanism, 'SCRAM-SHA-512');
    assert.ok(infra.kafka.tls?.ca, 'the private CA is trusted');
    assert.match(infra.registryUrl, /^https:/);
    assert.equal(infra.env.KAFKA_SECURITY_PROTOCOL, 'SASL_SSL');
  });
  await import(new URL(`../${file}`, import.meta.url).href);
}
