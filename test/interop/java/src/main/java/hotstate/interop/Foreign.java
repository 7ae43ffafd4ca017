package hotstate.interop;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A writer and reader from another team's world: the Java Kafka client (default partitioner) and Apache Avro with
 * the Confluent frame written by hand (magic byte 0, 4-byte schema id, Avro binary). Prints one JSON line per record
 * with its key, partition, offset and value, longs as exact literals and non-finite doubles as "NaN", "Infinity",
 * "-Infinity" (hotstate's documented JSON form), so the test compares both sides field by field.
 *
 *   write <brokers> <topic> <v1 id> <v1 schema file> <v2 id> <v2 schema file>
 *   read  <brokers> <topic> <schema id=file>...   (reads the whole topic, decoding each frame with its writer schema)
 */
public final class Foreign {
  public static void main(String[] args) throws Exception {
    if (args[0].equals("write")) write(args[1], args[2], Integer.parseInt(args[3]), parse(args[4]), Integer.parseInt(args[5]), parse(args[6]));
    else read(args[1], args[2], List.of(args).subList(3, args.length));
  }

  /** The brokers, plus the security settings in the file HOTSTATE_KAFKA_CLIENT_PROPERTIES names (secured cluster). */
  private static Properties clientProperties(String brokers) throws Exception {
    Properties props = new Properties();
    String file = System.getenv("HOTSTATE_KAFKA_CLIENT_PROPERTIES");
    if (file != null) try (var in = Files.newInputStream(Path.of(file))) { props.load(in); }
    props.put("bootstrap.servers", brokers);
    return props;
  }

  private static Schema parse(String file) throws Exception {
    return new Schema.Parser().parse(Files.readString(Path.of(file)));
  }

  private static void write(String brokers, String topic, int v1Id, Schema v1, int v2Id, Schema v2) throws Exception {
    Properties props = clientProperties(brokers);
    props.put("acks", "all");
    props.put("enable.idempotence", "true");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Object[]> records = new ArrayList<>();
      records.add(new Object[] {"sentinel-max", v1Id, v1, v1Record(v1, "max", Long.MAX_VALUE, Double.NaN)});
      records.add(new Object[] {"ключ-min", v1Id, v1, v1Record(v1, "min", Long.MIN_VALUE, Double.POSITIVE_INFINITY)});
      records.add(new Object[] {"日本-🔑", v2Id, v2, v2Record(v2, "nanos", 1_790_000_000_123_456_789L, Double.NEGATIVE_INFINITY, "naïve ✓", 9_007_199_254_740_993L)});
      records.add(new Object[] {"plain", v2Id, v2, v2Record(v2, "plain", 42L, 1.5, null, 0L)});
      records.add(new Object[] {"sentinel-max", v2Id, v2, v2Record(v2, "max again", -1L, -0.0, "evolved", Long.MAX_VALUE)});
      for (Object[] r : records) {
        String key = (String) r[0];
        byte[] value = frame((Integer) r[1], (Schema) r[2], (GenericRecord) r[3]);
        RecordMetadata meta = producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get();
        System.out.println(line(key, meta.partition(), meta.offset(), (GenericRecord) r[3]));
      }
    }
  }

  private static GenericRecord v1Record(Schema schema, String id, long count, double ratio) {
    GenericRecord record = new GenericData.Record(schema);
    record.put("id", id);
    record.put("count", count);
    record.put("ratio", ratio);
    return record;
  }

  private static GenericRecord v2Record(Schema schema, String id, long count, double ratio, String note, long nanos) {
    GenericRecord record = v1Record(schema, id, count, ratio);
    record.put("note", note);
    record.put("nanos", nanos);
    return record;
  }

  private static byte[] frame(int schemaId, Schema schema, GenericRecord record) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  private static void read(String brokers, String topic, List<String> schemaFiles) throws Exception {
    Map<Integer, Schema> schemas = new java.util.HashMap<>();
    for (String spec : schemaFiles) {
      String[] parts = spec.split("=", 2);
      schemas.put(Integer.parseInt(parts[0]), parse(parts[1]));
    }
    Properties props = clientProperties(brokers);
    props.put("isolation.level", "read_committed");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          String key = new String(record.key(), StandardCharsets.UTF_8);
          if (record.value() == null) {
            System.out.println("{\"key\":" + quote(key) + ",\"partition\":" + record.partition() + ",\"offset\":" + record.offset() + ",\"value\":null}");
            continue;
          }
          ByteBuffer frame = ByteBuffer.wrap(record.value());
          if (frame.get() != 0) throw new IllegalStateException("bad magic byte at offset " + record.offset());
          Schema schema = schemas.get(frame.getInt());
          GenericRecord value = new GenericDatumReader<GenericRecord>(schema).read(null,
              DecoderFactory.get().binaryDecoder(record.value(), 5, record.value().length - 5, null));
          System.out.println(line(key, record.partition(), record.offset(), value));
        }
      }
    }
  }

  private static String line(String key, int partition, long offset, GenericRecord value) {
    StringBuilder json = new StringBuilder("{\"key\":").append(quote(key)).append(",\"partition\":").append(partition)
        .append(",\"offset\":").append(offset).append(",\"value\":{");
    boolean first = true;
    for (Schema.Field field : value.getSchema().getFields()) {
      if (!first) json.append(',');
      first = false;
      json.append(quote(field.name())).append(':').append(jsonOf(value.get(field.name())));
    }
    return json.append("}}").toString();
  }

  private static String jsonOf(Object value) {
    if (value == null) return "null";
    if (value instanceof Double d) return d.isNaN() ? "\"NaN\"" : d.isInfinite() ? (d > 0 ? "\"Infinity\"" : "\"-Infinity\"") : d.toString();
    if (value instanceof Long || value instanceof Integer) return value.toString();
    return quote(value.toString());
  }

  private static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
