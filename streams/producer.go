package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer produces records synchronously with acks=all from an idempotent
// kgo producer.
type Producer struct {
	cl *kgo.Client
}

// NewProducer returns a Producer for the given seed brokers. opts are added
// to the client options; acks=all is always enforced, and the client's
// default idempotent writes must not be disabled with
// kgo.DisableIdempotentWrite.
func NewProducer(brokers []string, opts ...kgo.Opt) (*Producer, error) {
	if len(brokers) == 0 {
		return nil, errors.New("streams: no brokers")
	}
	all := make([]kgo.Opt, 0, len(opts)+2)
	all = append(all, kgo.SeedBrokers(brokers...))
	all = append(all, opts...)
	// Last, so it wins over opts. Idempotent writes are the kgo default
	// and require acks=all.
	all = append(all, kgo.RequiredAcks(kgo.AllISRAcks()))
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("streams: new producer: %w", err)
	}
	return &Producer{cl: cl}, nil
}

// Produce writes one record and waits until it is acknowledged by all
// in-sync replicas. Headers are written in key order.
func (p *Producer) Produce(ctx context.Context, topic string, key, value []byte, headers map[string]string) error {
	if topic == "" {
		return errors.New("streams: produce: empty topic")
	}
	rec := &kgo.Record{Topic: topic, Key: key, Value: value}
	if len(headers) > 0 {
		names := make([]string, 0, len(headers))
		for k := range headers {
			names = append(names, k)
		}
		slices.Sort(names)
		rec.Headers = make([]kgo.RecordHeader, 0, len(names))
		for _, k := range names {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(headers[k])})
		}
	}
	if err := p.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("streams: produce to %s: %w", topic, err)
	}
	return nil
}

// Client returns the underlying client, e.g. for EnsureTopics.
func (p *Producer) Client() *kgo.Client { return p.cl }

// Close flushes nothing (Produce is synchronous) and closes the client.
func (p *Producer) Close() { p.cl.Close() }
