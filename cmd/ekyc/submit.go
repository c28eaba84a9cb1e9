package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/streams/codec"
)

func randomID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// cmdSubmit produces one request (JSON, content-type application/json) and
// waits for its decision, or for its dead letter.
func cmdSubmit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "request JSON file (protojson of ekyc.v1.VerificationRequest)")
	brokers := fs.String("brokers", envOr("EKYC_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka brokers, comma-separated")
	reqTopic := fs.String("requests-topic", "ekyc.verification.requests", "request topic")
	decTopic := fs.String("decisions-topic", "ekyc.verification.decisions", "decision topic")
	dlqTopic := fs.String("dlq-topic", "ekyc.verification.dlq", "dead-letter topic")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the decision")
	keep := fs.Bool("keep-ids", false, "keep session_id/event_id from the file (default: fresh ids, so the file can be submitted again)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "submit: -file is required")
		return 2
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(stderr, "submit:", err)
		return 2
	}
	req := &ekycv1.VerificationRequest{}
	if err := protojson.Unmarshal(raw, req); err != nil {
		fmt.Fprintf(stderr, "submit: %s is not a VerificationRequest: %v\n", *file, err)
		return 2
	}
	if !*keep || req.SessionId == "" {
		req.SessionId = randomID("sess-")
	}
	if !*keep || req.EventId == "" {
		req.EventId = randomID("evt-")
	}
	req.SubmittedAt = timestamppb.Now()
	value, _, err := codec.Encode(req, ekycv1.Encoding_ENCODING_JSON)
	if err != nil {
		fmt.Fprintln(stderr, "submit:", err)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	seeds := strings.Split(*brokers, ",")
	admin, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		fmt.Fprintln(stderr, "submit:", err)
		return 1
	}
	defer admin.Close()
	// Read from the current ends so only this request's outcome is seen.
	ends, err := kadm.NewClient(admin).ListEndOffsets(ctx, *decTopic, *dlqTopic)
	if err != nil {
		fmt.Fprintln(stderr, "submit: list offsets:", err)
		return 1
	}
	start := map[string]map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if start[o.Topic] == nil {
			start[o.Topic] = map[int32]kgo.Offset{}
		}
		start[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset)
	})
	cons, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumePartitions(start))
	if err != nil {
		fmt.Fprintln(stderr, "submit:", err)
		return 1
	}
	defer cons.Close()

	rec := &kgo.Record{Topic: *reqTopic, Key: []byte(req.SessionId), Value: value,
		Headers: []kgo.RecordHeader{{Key: codec.HeaderContentType, Value: []byte(codec.ContentTypeJSON)}}}
	if err := admin.ProduceSync(ctx, rec).FirstErr(); err != nil {
		fmt.Fprintln(stderr, "submit: produce:", err)
		return 1
	}
	fmt.Fprintf(stderr, "submitted session %s (event %s) to %s; waiting for the decision...\n", req.SessionId, req.EventId, *reqTopic)

	for {
		fetches := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "submit: no decision within %s\n", *timeout)
			return 1
		}
		var out int = -1
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(stderr, "submit: fetch %s/%d: %v\n", t, p, err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if out >= 0 || string(r.Key) != req.SessionId {
				return
			}
			if r.Topic == *dlqTopic {
				fmt.Fprintf(stderr, "submit: request dead-lettered: %s: %s\n", header(r, "ekyc-dlq-reason"), header(r, "ekyc-dlq-detail"))
				out = 3
				return
			}
			d, err := codec.DecodeDecision(r)
			if err != nil {
				fmt.Fprintln(stderr, "submit: bad decision record:", err)
				out = 1
				return
			}
			b, _ := protojson.MarshalOptions{Multiline: true, UseProtoNames: true}.Marshal(d)
			fmt.Fprintln(stdout, string(b))
			out = 0
		})
		if out >= 0 {
			return out
		}
	}
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
