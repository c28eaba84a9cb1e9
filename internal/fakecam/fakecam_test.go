package fakecam

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 20, 10))
	for y := 0; y < 10; y++ {
		for x := 0; x < 20; x++ {
			img.Set(x, y, color.RGBA{R: 255, A: 255}) // red
		}
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, img, 8, 8, 3))
	r := bufio.NewReader(&buf)
	hdr, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "YUV4MPEG2 W8 H8 F30:1 Ip A1:1 C420jpeg\n", hdr)
	for range 3 {
		tag, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "FRAME\n", tag)
		frame := make([]byte, 64+2*16)
		_, err = io.ReadFull(r, frame)
		require.NoError(t, err)
		// Letterboxed 2:1 into 8×8: rows 2..5 are red, rows 0..1 black.
		ry, rcb, rcr := color.RGBToYCbCr(255, 0, 0)
		require.Equal(t, ry, frame[3*8+4])
		require.Equal(t, byte(0), frame[0])
		require.Equal(t, rcb, frame[64+1*4+2])
		require.Equal(t, rcr, frame[64+16+1*4+2])
	}
	_, err = r.ReadByte()
	require.ErrorIs(t, err, io.EOF)
	require.Error(t, Write(io.Discard, img, 7, 8, 1))
	require.True(t, strings.HasPrefix(hdr, "YUV4MPEG2"))
}
