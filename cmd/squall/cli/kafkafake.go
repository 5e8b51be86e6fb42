package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/internal/fakekafka"
)

type kafkaFakeOptions struct {
	port   int
	topics []string
	loads  []string
	tails  []string
}

// newKafkaFakeCmd is a test tool: an in-memory Kafka-protocol broker to
// try squall.KafkaSpout and squall.KafkaBolt without a Kafka installation.
func newKafkaFakeCmd() *cobra.Command {
	var o kafkaFakeOptions
	cmd := &cobra.Command{
		Use:   "kafka-fake",
		Short: "Run an in-memory Kafka-protocol broker on loopback, for trying the Kafka components (a test tool)",
		Long: `Run franz-go's kfake, an in-process broker that speaks the Kafka protocol, on
127.0.0.1 until Ctrl-C. It is a TEST TOOL: one broker, everything in memory,
nothing durable, no security. Create topics with --topic, fill them from
text files with --load (one record per line, keyed by line number), and
print what arrives on others with --tail.`,
		Example: `  squall kafka-fake --topic sentences:4 --topic sentences-enriched \
      --load sentences=examples/kafka-python/resources/sentences.txt --tail sentences-enriched
  squall local examples/kafka-python -c kafka.bootstrap.servers=127.0.0.1:9092`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKafkaFake(cmd.Context(), o, cmd)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.port, "port", 9092, "the loopback port to listen on (0 picks one)")
	f.StringArrayVar(&o.topics, "topic", nil, "create a topic, `name[:partitions]` (repeatable; 1 partition by default)")
	f.StringArrayVar(&o.loads, "load", nil, "write each line of a file to a topic, `topic=file` (repeatable)")
	f.StringArrayVar(&o.tails, "tail", nil, "print the records of a `topic` as they arrive (repeatable)")
	return cmd
}

func runKafkaFake(ctx context.Context, o kafkaFakeOptions, cmd *cobra.Command) error {
	parts := map[string]int32{}
	var names []string
	for _, t := range o.topics {
		name, p, hasP := strings.Cut(t, ":")
		n := 1
		if hasP {
			var err error
			if n, err = strconv.Atoi(p); err != nil || n < 1 || n > 1000 {
				return fmt.Errorf("--topic %q: want name[:partitions], 1 to 1000 partitions", t)
			}
		}
		if name == "" {
			return fmt.Errorf("--topic %q: no name", t)
		}
		parts[name] = int32(n)
		names = append(names, name)
	}
	b, err := fakekafka.Start(fakekafka.Config{Port: o.port})
	if err != nil {
		return err
	}
	defer b.Close()
	for _, name := range names {
		if err := b.CreateTopic(name, parts[name]); err != nil {
			return fmt.Errorf("--topic %s: %w", name, err)
		}
	}
	for _, l := range o.loads {
		topic, file, ok := strings.Cut(l, "=")
		if !ok || topic == "" || file == "" {
			return fmt.Errorf("--load %q: want topic=file", l)
		}
		if _, known := parts[topic]; !known {
			return fmt.Errorf("--load %s: create the topic with --topic %s[:partitions] first", l, topic)
		}
		fh, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("--load: %w", err)
		}
		n, err := fakekafka.LoadLines(ctx, b.Addr(), topic, parts[topic], fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("--load %s: %w", l, err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d records to %s\n", n, topic)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "fake Kafka broker (a test tool: in memory, not durable) on %s\n", b.Addr())
	fmt.Fprintf(cmd.ErrOrStderr(), "try: squall local examples/kafka-python -c kafka.bootstrap.servers=%s\n", b.Addr())
	if len(o.tails) > 0 {
		return fakekafka.Tail(ctx, b.Addr(), o.tails, cmd.OutOrStdout())
	}
	<-ctx.Done()
	return nil
}
