package hnsw

// Dot returns the dot product of a and b, which must have the same length.
// For L2-normalised vectors it is their cosine similarity.
//
// The loop is unrolled by 8 into four independent accumulators: the
// compiler emits scalar SSE (Go does not auto-vectorise), and independent
// accumulators keep several multiply-adds in flight instead of one chain.
func Dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0]*bb[0] + aa[4]*bb[4]
		s1 += aa[1]*bb[1] + aa[5]*bb[5]
		s2 += aa[2]*bb[2] + aa[6]*bb[6]
		s3 += aa[3]*bb[3] + aa[7]*bb[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
