package bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * One JVM contender of the replay benchmark, in a fresh process: replays a topic into a key-value store and prints
 * one JSON line with the milliseconds from JVM start to ready and the keys held.
 *   java -cp ... bench.Replay <streams-memory|streams-rocksdb|consumer-hashmap> <brokers> <topic>
 */
public final class Replay {
  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String brokers = args[1];
    String topic = args[2];
    long keys = switch (mode) {
      case "streams-memory" -> streams(brokers, topic, false);
      case "streams-rocksdb" -> streams(brokers, topic, true);
      case "consumer-hashmap" -> consumer(brokers, topic);
      default -> throw new IllegalArgumentException("unknown mode " + mode);
    };
    long readyMs = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
    System.gc();
    Runtime rt = Runtime.getRuntime();
    System.out.println("{\"readyMs\":" + readyMs + ",\"keys\":" + keys + ",\"heapBytes\":" + (rt.totalMemory() - rt.freeMemory()) + "}");
    System.exit(0);
  }

  /** A GlobalKTable: KafkaStreams reaches RUNNING once the global store is restored to the end offsets. */
  private static long streams(String brokers, String topic, boolean rocksdb) throws Exception {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "bench-" + System.nanoTime());
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("bench-streams").toString());
    StreamsBuilder builder = new StreamsBuilder();
    String store = "replay";
    Materialized<Bytes, byte[], KeyValueStore<Bytes, byte[]>> materialized = rocksdb
        ? Materialized.<Bytes, byte[]>as(Stores.persistentKeyValueStore(store))
        : Materialized.<Bytes, byte[]>as(Stores.inMemoryKeyValueStore(store));
    builder.globalTable(topic, Consumed.with(Serdes.Bytes(), Serdes.ByteArray()), materialized.withKeySerde(Serdes.Bytes()).withValueSerde(Serdes.ByteArray()));
    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch running = new CountDownLatch(1);
    streams.setStateListener((now, before) -> { if (now == KafkaStreams.State.RUNNING) running.countDown(); });
    streams.start();
    if (!running.await(10, TimeUnit.MINUTES)) throw new IllegalStateException("not running after 10 minutes");
    ReadOnlyKeyValueStore<Bytes, byte[]> view = streams.store(StoreQueryParameters.fromNameAndType(store, QueryableStoreTypes.keyValueStore()));
    return view.approximateNumEntries();
  }

  /** Manual assignment from the beginning to the end offsets captured at start, into a HashMap (null deletes). */
  private static long consumer(String brokers, String topic) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "10000");
    props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(50 * 1024 * 1024));
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024));
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = new HashMap<>(consumer.endOffsets(partitions));
      HashMap<Bytes, byte[]> state = new HashMap<>();
      while (ends.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(java.time.Duration.ofMillis(500));
        for (ConsumerRecord<byte[], byte[]> record : records) {
          if (record.value() == null) state.remove(Bytes.wrap(record.key()));
          else state.put(Bytes.wrap(record.key()), record.value());
        }
      }
      return state.size();
    }
  }
}
