import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/versions.test.ts');
