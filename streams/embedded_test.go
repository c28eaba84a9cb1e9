package streams

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

func TestEmbeddedFixedPortsAndSeedTopics(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 20*time.Second)
	port := freePort(t)
	emb, err := StartEmbedded(
		EmbeddedPorts(port),
		EmbeddedPartitions(3),
		EmbeddedSeedTopics(2, "a"),
		EmbeddedSeedTopics(0, "b"),
	)
	require.NoError(t, err)
	defer emb.Close()
	require.Equal(t, []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, emb.Addrs())

	cl, err := kgo.NewClient(kgo.SeedBrokers(emb.Addrs()...))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, "a", "b")
	require.NoError(t, err)
	require.Len(t, td["a"].Partitions, 2)
	require.Len(t, td["b"].Partitions, 3, "seed topic with the default number of partitions")

	// The port is taken while the broker runs.
	_, err = StartEmbedded(EmbeddedPorts(port))
	require.Error(t, err)

	emb.Close()
	emb.Close() // idempotent
}

func TestEmbeddedBrokersAndValidation(t *testing.T) {
	t.Parallel()
	emb, err := StartEmbedded(EmbeddedBrokers(3))
	require.NoError(t, err)
	defer emb.Close()
	addrs := emb.Addrs()
	require.Len(t, addrs, 3)
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1", host)
	}

	_, err = StartEmbedded(EmbeddedBrokers(2), EmbeddedPorts(freePort(t)))
	require.Error(t, err)
	_, err = StartEmbedded(EmbeddedBrokers(-1))
	require.Error(t, err)
}

func TestEnsureTopics(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 20*time.Second)
	emb, err := StartEmbedded(EmbeddedSeedTopics(1, "exists"))
	require.NoError(t, err)
	defer emb.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(emb.Addrs()...))
	require.NoError(t, err)
	defer cl.Close()

	require.NoError(t, EnsureTopics(ctx, cl, 4, 1, "exists", "new1", "new2"))
	require.NoError(t, EnsureTopics(ctx, cl, 4, 1, "new1"), "already exists is success")
	td, err := kadm.NewClient(cl).ListTopics(ctx, "exists", "new1", "new2")
	require.NoError(t, err)
	require.Len(t, td["exists"].Partitions, 1, "existing topic untouched")
	require.Len(t, td["new1"].Partitions, 4)
	require.Len(t, td["new2"].Partitions, 4)

	// One broker cannot hold three replicas.
	err = EnsureTopics(ctx, cl, 1, 3, "new3")
	require.Error(t, err)
	require.Contains(t, err.Error(), "new3")
	require.NoError(t, EnsureTopics(ctx, cl, 1, 1))
}

func TestProducerProduce(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 20*time.Second)
	emb, err := StartEmbedded()
	require.NoError(t, err)
	defer emb.Close()
	p, err := NewProducer(emb.Addrs())
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, EnsureTopics(ctx, p.Client(), 2, 1, "events"))

	for i := range 5 {
		require.NoError(t, p.Produce(ctx, "events", []byte("case-1"), []byte(strconv.Itoa(i)),
			map[string]string{"b": "2", "a": "1"}))
	}
	require.Error(t, p.Produce(ctx, "", nil, nil, nil))

	cl, err := kgo.NewClient(kgo.SeedBrokers(emb.Addrs()...), kgo.ConsumeTopics("events"))
	require.NoError(t, err)
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < 5 {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	for i, r := range got {
		require.Equal(t, "case-1", string(r.Key))
		require.Equal(t, strconv.Itoa(i), string(r.Value), "same key, same partition, in order")
		require.Equal(t, []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}}, r.Headers)
		require.Equal(t, got[0].Partition, r.Partition)
	}
	_, err = NewProducer(nil)
	require.Error(t, err)
}
