package node

import "context"

// RunRetention runs the retention job once (tests) and returns how many
// sessions it erased and how many erasures failed.
func (n *Node) RunRetention(ctx context.Context) (erased, failed int) {
	r := n.runRetention(ctx)
	return r.Erased, r.Failed
}
