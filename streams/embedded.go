package streams

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka-compatible broker (kfake) for development
// and tests. It listens on 127.0.0.1 only and keeps everything in memory.
type Embedded struct {
	cluster *kfake.Cluster
	once    sync.Once
}

type embeddedConfig struct {
	ports      []int
	brokers    int
	partitions int
	seeds      []seedTopics
}

type seedTopics struct {
	partitions int32
	topics     []string
}

// EmbeddedOption configures StartEmbedded.
type EmbeddedOption func(*embeddedConfig)

// EmbeddedPorts makes the brokers listen on the given fixed ports (one broker
// per port), e.g. EmbeddedPorts(19092). Without it every broker listens on a
// random free port.
func EmbeddedPorts(ports ...int) EmbeddedOption {
	return func(c *embeddedConfig) { c.ports = append([]int(nil), ports...) }
}

// EmbeddedBrokers sets the number of brokers (default 1). With
// EmbeddedPorts the number of ports must match.
func EmbeddedBrokers(n int) EmbeddedOption {
	return func(c *embeddedConfig) { c.brokers = n }
}

// EmbeddedPartitions sets the number of partitions of topics created with
// the broker default (CreateTopics with -1 partitions, seed topics with
// partitions < 1). kfake's default is 10.
func EmbeddedPartitions(n int) EmbeddedOption {
	return func(c *embeddedConfig) { c.partitions = n }
}

// EmbeddedSeedTopics creates topics at start with the given number of
// partitions (< 1: the default number of partitions). It may be repeated.
func EmbeddedSeedTopics(partitions int32, topics ...string) EmbeddedOption {
	return func(c *embeddedConfig) {
		c.seeds = append(c.seeds, seedTopics{partitions: partitions, topics: append([]string(nil), topics...)})
	}
}

// StartEmbedded starts an in-process broker cluster.
func StartEmbedded(opts ...EmbeddedOption) (*Embedded, error) {
	var cfg embeddedConfig
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.brokers < 0:
		return nil, errors.New("streams: negative number of brokers")
	case cfg.brokers == 0 && len(cfg.ports) > 0:
		cfg.brokers = len(cfg.ports)
	case cfg.brokers == 0:
		cfg.brokers = 1
	case len(cfg.ports) > 0 && len(cfg.ports) != cfg.brokers:
		return nil, fmt.Errorf("streams: %d brokers but %d ports", cfg.brokers, len(cfg.ports))
	}
	if cfg.partitions < 0 {
		return nil, errors.New("streams: negative default number of partitions")
	}

	kopts := []kfake.Opt{
		kfake.NumBrokers(cfg.brokers),
		kfake.ListenFn(listenLoopback),
	}
	if len(cfg.ports) > 0 {
		kopts = append(kopts, kfake.Ports(cfg.ports...))
	}
	if cfg.partitions > 0 {
		kopts = append(kopts, kfake.DefaultNumPartitions(cfg.partitions))
	}
	for _, s := range cfg.seeds {
		kopts = append(kopts, kfake.SeedTopics(s.partitions, s.topics...))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("streams: start embedded broker: %w", err)
	}
	return &Embedded{cluster: c}, nil
}

// listenLoopback listens on 127.0.0.1 whatever host kfake asks for.
func listenLoopback(network, address string) (net.Listener, error) {
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("streams: bad port in %q", address)
	}
	return net.Listen(network, net.JoinHostPort("127.0.0.1", port))
}

// Addrs returns the host:port of every broker, usable as seed brokers.
func (e *Embedded) Addrs() []string {
	return e.cluster.ListenAddrs()
}

// Close stops the brokers. It is safe to call more than once.
func (e *Embedded) Close() {
	e.once.Do(e.cluster.Close)
}
