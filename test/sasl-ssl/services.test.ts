import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('e2e/services.test.ts');
