import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/producer.test.ts');
