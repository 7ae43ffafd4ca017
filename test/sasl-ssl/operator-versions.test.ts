import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('e2e/operator-versions.test.ts');
