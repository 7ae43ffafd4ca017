import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/java-interop.test.ts');
