package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference/ort"
)

func needModels(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed")); err != nil {
		t.Skipf("face models not in %s: run make models", ort.DefaultDir())
	}
}

func TestFaceCompareCLI(t *testing.T) {
	needModels(t)
	faces := filepath.Join("..", "..", "testdata", "faces")
	for _, tc := range []struct {
		a, b  string
		match bool
	}{{"obama.jpg", "obama2.jpg", true}, {"obama.jpg", "biden.jpg", false}} {
		var out, errb bytes.Buffer
		code := run([]string{"face", "compare", filepath.Join(faces, tc.a), filepath.Join(faces, tc.b)}, nil, &out, &errb)
		require.Equal(t, 0, code, errb.String())
		var res struct {
			Compared   bool    `json:"compared"`
			Similarity float64 `json:"similarity"`
			Match      bool    `json:"match"`
			Selfie     struct {
				Faces []json.RawMessage `json:"faces"`
			} `json:"selfie"`
		}
		require.NoError(t, json.Unmarshal(out.Bytes(), &res))
		require.True(t, res.Compared)
		require.Equal(t, tc.match, res.Match, "%s vs %s: similarity %.3f", tc.a, tc.b, res.Similarity)
		require.Len(t, res.Selfie.Faces, 1)
	}
}

func TestFaceInspectCLI(t *testing.T) {
	needModels(t)
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"face", "inspect", filepath.Join("..", "..", "testdata", "faces", "two_people.jpg")}, nil, &out, &errb), errb.String())
	var res struct {
		Faces []struct {
			Box []float64 `json:"box"`
		} `json:"faces"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	require.Len(t, res.Faces, 2)

	bad := filepath.Join(t.TempDir(), "bad.jpg")
	require.NoError(t, os.WriteFile(bad, []byte("not an image"), 0o600))
	errb.Reset()
	require.Equal(t, 2, run([]string{"face", "inspect", bad}, nil, &out, &errb))
	require.Contains(t, errb.String(), "unreadable image")
	require.Equal(t, 2, run([]string{"face", "compare", bad}, nil, &out, &errb), "one path is a usage error")
}
