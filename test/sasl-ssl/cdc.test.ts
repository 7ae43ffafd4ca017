// The CDC flows on the secured cluster: Kafka Connect joins it over SASL_SSL as principal `connect` (its own ACLs),
// and the Avro converter inside it registers schemas through the registry's HTTPS front with basic auth, trusting the
// private CA. Then what only the secured cluster can show: the connector's config names the password without
// holding it, and Connect's principal writes the tables' topics but cannot read them.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { isHotstateError } from '../../services/lib/errors.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { createView } from '../../services/lib/view/view.ts';
import { captureTables, cdcInfra, testDatabase, type CdcInfra } from '../helpers/cdc.ts';
import { secureInfra } from '../helpers/secure-infra.ts';
import { testView } from '../helpers/views.ts';
import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/cdc.test.ts');

const infra = cdcInfra();

test(
  "Connect on the secured cluster: the connector's config holds no password, and principal connect cannot read what it writes",
  { skip: typeof infra === 'string' ? infra : false, timeout: 180_000 },
  async (t: TestContext) => {
    const cdc = infra as CdcInfra;
    const secure = secureInfra();
    const db = await testDatabase(t, cdc);
    await db.sql.query("CREATE TABLE secrets (id int PRIMARY KEY, v text); INSERT INTO secrets VALUES (1, 'one')");
    const { source, topics } = await captureTables(t, cdc, db, ['public.secrets']);
    const topic = topics.get('public.secrets') as string;

    const view = await testView(t, topic);
    await view.ready;
    assert.deepEqual(
      { ...view.get<object>('1')?.value },
      { id: 1, v: 'one' },
      'the snapshot arrived through SASL_SSL and HTTPS',
    );

    const config = JSON.stringify(await cdc.connect.config(source.name));
    assert.ok(!config.includes(secure.password('connect')), "Connect's REST API does not show the password");
    assert.match(config, /"value\.converter\.apicurio\.auth\.password":"\$\{dir:[^"]+:connect\.password\}"/);

    const began = performance.now();
    const denied = await createView({
      kafka: secure.kafka('connect'),
      registryUrl: secure.registry('connect'),
      topic,
      logger: createLogger({ level: 'silent' }),
    }).then(
      async (other) => {
        try {
          await other.ready;
          return undefined;
        } catch (error) {
          return error;
        } finally {
          await other.close();
        }
      },
      (error: unknown) => error,
    );
    assert.ok(isHotstateError(denied, 'HOTSTATE_ERR_TRANSPORT_DENIED'), `expected a denial, got ${String(denied)}`);
    assert.ok(performance.now() - began < 10_000, 'refused within 10 s');
  },
);
