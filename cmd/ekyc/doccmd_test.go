package main

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/internal/docgen"
)

func TestDocReadCLI(t *testing.T) {
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "ocr_rec")); err != nil {
		t.Skipf("OCR models not in %s: run make models", ort.DefaultDir())
	}
	font, err := docgen.LoadFont(filepath.Join("..", "..", "testdata", "fonts", "OCRB.ttf"))
	require.NoError(t, err)
	portrait, err := os.Open(filepath.Join("..", "..", "testdata", "faces", "obama.jpg"))
	require.NoError(t, err)
	defer portrait.Close()
	pimg, err := jpeg.Decode(portrait)
	require.NoError(t, err)
	r := &docgen.Renderer{Font: font, Portrait: pimg, Ref: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cases, err := r.Set(3, 7) // clean TD1, TD2, TD3 pages
	require.NoError(t, err)
	c := cases[2]
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, c.Image, &jpeg.Options{Quality: 92}))
	path := filepath.Join(t.TempDir(), "page.jpg")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))

	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"doc", "read", path}, nil, &out, &errb), errb.String())
	var res struct {
		Class       map[string]string `json:"class"`
		Corrected   []string          `json:"mrz_corrected"`
		Valid       bool              `json:"valid"`
		PortraitBox []float64         `json:"portrait_box"`
		Forensics   struct {
			Signals []json.RawMessage `json:"signals"`
		} `json:"forensics"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	require.Equal(t, c.Page.Lines, res.Corrected, "the MRZ is read exactly")
	require.True(t, res.Valid)
	require.Equal(t, "TD3", res.Class["format"])
	require.Equal(t, "passport", res.Class["type"])
	require.Len(t, res.PortraitBox, 4, "the holder's portrait is found on the page")
	require.True(t, res.PortraitBox[0] >= float64(c.PortraitBox.Min.X)-20 && res.PortraitBox[2] <= float64(c.PortraitBox.Max.X)+20,
		"portrait box %v inside the photo zone %v", res.PortraitBox, c.PortraitBox)
	require.NotEmpty(t, res.Forensics.Signals)

	bad := filepath.Join(t.TempDir(), "bad.jpg")
	require.NoError(t, os.WriteFile(bad, buf.Bytes()[:len(buf.Bytes())/3], 0o600))
	errb.Reset()
	require.Equal(t, 2, run([]string{"doc", "read", bad}, nil, &out, &errb), "truncated JPEG")
	require.NotEmpty(t, errb.String())
	errb.Reset()
	require.Equal(t, 2, run([]string{"doc", "read", filepath.Join("..", "..", "testdata", "faces", "obama.jpg")}, nil, &out, &errb))
	require.Contains(t, errb.String(), "DOC_MRZ_UNREADABLE")
}
