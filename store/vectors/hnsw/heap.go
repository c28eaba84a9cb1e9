package hnsw

// cand is a node with its similarity to the query.
type cand struct {
	id    uint32
	score float32
}

// maxHeap keeps the most similar candidate on top.
type maxHeap []cand

func (h *maxHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].score >= s[i].score {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *maxHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].score > s[l].score {
			m = r
		}
		if s[i].score >= s[m].score {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}

// minHeap keeps the least similar candidate on top: the bounded result set
// of a beam search.
type minHeap []cand

func (h *minHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].score <= s[i].score {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *minHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	s.down(0)
	return top
}

// replaceTop replaces the least similar candidate with c.
func (h minHeap) replaceTop(c cand) {
	h[0] = c
	h.down(0)
}

func (s minHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].score < s[l].score {
			m = r
		}
		if s[i].score <= s[m].score {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}
