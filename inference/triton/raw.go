package triton

import (
	"encoding/binary"
	"fmt"
	"math"
)

// EncodeFloat32 is the KServe v2 raw form of FP32 data: 4 bytes per value,
// little-endian IEEE 754, no padding.
func EncodeFloat32(data []float32) []byte {
	out := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

// DecodeFloat32 reverses EncodeFloat32; the length must be a multiple of 4.
func DecodeFloat32(raw []byte) ([]float32, error) {
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("raw FP32 contents of %d bytes: not a multiple of 4", len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}
