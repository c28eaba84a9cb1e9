// Package fakecam writes Y4M videos for Chromium's fake camera
// (--use-fake-device-for-media-stream --use-file-for-fake-video-capture=F):
// a still image, letterboxed into the frame, repeated. Browser tests use it
// to feed the web SDK's capture a real picture through getUserMedia.
//
// Y4M is YUV4MPEG2: a text header, then per frame "FRAME\n" and the planar
// Y, Cb, Cr samples (4:2:0: chroma at half resolution in both directions),
// BT.601 full range as image/color computes it ("C420jpeg").
package fakecam

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"

	xdraw "golang.org/x/image/draw"
)

// Write writes frames frames of img, scaled to fit width×height (even
// sizes) on a black background, at 30 frames per second.
func Write(w io.Writer, img image.Image, width, height, frames int) error {
	if width <= 0 || height <= 0 || width%2 != 0 || height%2 != 0 {
		return errors.New("fakecam: width and height must be positive and even")
	}
	if frames <= 0 {
		return errors.New("fakecam: frames must be positive")
	}
	canvas := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.Black), image.Point{}, draw.Src)
	b := img.Bounds()
	scale := min(float64(width)/float64(b.Dx()), float64(height)/float64(b.Dy()))
	dw, dh := int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)
	dst := image.Rect((width-dw)/2, (height-dh)/2, (width-dw)/2+dw, (height-dh)/2+dh)
	xdraw.CatmullRom.Scale(canvas, dst, img, b, draw.Over, nil)

	ySize := width * height
	cSize := (width / 2) * (height / 2)
	frame := make([]byte, ySize+2*cSize)
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			c := canvas.RGBAAt(x, y)
			yy, _, _ := color.RGBToYCbCr(c.R, c.G, c.B)
			frame[y*width+x] = yy
		}
	}
	for y := 0; y < height/2; y++ {
		for x := 0; x < width/2; x++ {
			var sr, sg, sb int
			for dy := 0; dy < 2; dy++ {
				for dx := 0; dx < 2; dx++ {
					c := canvas.RGBAAt(2*x+dx, 2*y+dy)
					sr, sg, sb = sr+int(c.R), sg+int(c.G), sb+int(c.B)
				}
			}
			_, cb, cr := color.RGBToYCbCr(uint8(sr/4), uint8(sg/4), uint8(sb/4))
			frame[ySize+y*(width/2)+x] = cb
			frame[ySize+cSize+y*(width/2)+x] = cr
		}
	}
	bw := bufio.NewWriter(w)
	if _, err := fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n", width, height); err != nil {
		return err
	}
	for range frames {
		if _, err := bw.WriteString("FRAME\n"); err != nil {
			return err
		}
		if _, err := bw.Write(frame); err != nil {
			return err
		}
	}
	return bw.Flush()
}
