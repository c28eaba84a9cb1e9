package streams

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnsureTopics creates the topics that do not exist yet with the given
// number of partitions and replication factor (-1 for either: the broker
// default). A topic that already exists counts as success; its partition
// count and replication are left as they are.
func EnsureTopics(ctx context.Context, cl *kgo.Client, partitions int32, replication int16, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	// kadm.Client.Close would close cl, which belongs to the caller: we
	// do not close adm.
	adm := kadm.NewClient(cl)
	resps, err := adm.CreateTopics(ctx, partitions, replication, nil, topics...)
	if err != nil {
		return fmt.Errorf("streams: create topics: %w", err)
	}
	var errs []error
	for _, t := range topics {
		r, ok := resps[t]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("streams: create topic %q: missing from response", t))
		case r.Err == nil, errors.Is(r.Err, kerr.TopicAlreadyExists):
		default:
			errs = append(errs, fmt.Errorf("streams: create topic %q: %w", t, r.Err))
		}
	}
	return errors.Join(errs...)
}
