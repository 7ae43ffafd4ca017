// Options of the view and the producer: defaults in one object each, every bad setting named in one error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHotstateError } from '../../services/lib/errors.ts';
import { producerDefaults, producerSettings } from '../../services/lib/producer/producer-options.ts';
import { viewDefaults, viewSettings } from '../../services/lib/view/view-types.ts';

const connection = { kafka: { brokers: ['127.0.0.1:9092'] }, registryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7' };

test('view options: the defaults fill what is not given (undefined counts as not given)', () => {
  const fromJavaScript = { staleAfterMs: undefined } as object; // a JavaScript caller may pass undefined
  const settings = viewSettings({ ...connection, topic: 'prices', ...fromJavaScript, maxItems: 10 });
  assert.equal(settings.staleAfterMs, viewDefaults.staleAfterMs);
  assert.equal(settings.poisonPolicy, 'skip');
  assert.equal(settings.maxItems, 10);
});

test('view options: every bad setting in one HOTSTATE_ERR_CONFIG_INVALID', () => {
  assert.throws(
    () =>
      viewSettings({
        ...connection,
        topic: 'no spaces',
        staleAfterMs: -1,
        maxValueBytes: 1.5,
        poisonPolicy: 'ignore' as 'skip',
      }),
    (error: unknown) => {
      assert.ok(isHotstateError(error, 'HOTSTATE_ERR_CONFIG_INVALID'));
      for (const name of ['topic', 'staleAfterMs', 'maxValueBytes', 'poisonPolicy'])
        assert.match(error.message, new RegExp(`${name}: `));
      return true;
    },
  );
});

test('producer options: defaults, and every bad setting named', () => {
  const settings = producerSettings({ ...connection, topic: 'prices' });
  assert.equal(settings.maxKeyBytes, producerDefaults.maxKeyBytes);
  assert.equal(settings.registerSchema, false);
  assert.throws(
    () => producerSettings({ ...connection, topic: 'prices', maxBatchRecords: 0, sendTimeoutMs: -5 }),
    /producer options: maxBatchRecords: .*; sendTimeoutMs: /,
  );
});
