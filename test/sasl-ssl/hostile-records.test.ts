import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('e2e/hostile-records.test.ts');
