// 'hotstate/testing': test your own code against a real view without a broker or a registry. A MemoryTopic is a
// Transport whose partitions are arrays you append to (and pause, fail, truncate or recreate); MemorySchemas is a
// SchemaSource. Pass both to createView({ transport, schemaSource, ... }); encode values with encodeFramed.
export { MemorySchemas, MemoryTopic } from './memory-transport.ts';
