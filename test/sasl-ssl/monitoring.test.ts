import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('e2e/monitoring.test.ts');
