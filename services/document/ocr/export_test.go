package ocr

// MRZClasses exposes the class table to the tests.
func MRZClasses() map[int]byte { return mrzClasses }

// Normalise exposes normalise to the tests.
func Normalise(s string) string { return normalise(s) }
