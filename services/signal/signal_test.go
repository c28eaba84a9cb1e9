package signal

import (
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

func TestStatusAndScore(t *testing.T) {
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, Status(nil))
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, Status([]string{"FACE_BLURRY"}))
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, Status([]string{"FACE_BLURRY", "FACE_MISMATCH"}))
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, Status([]string{"NOT_IN_THE_TABLE"}), "fail closed")
	require.InDelta(t, 1.0, Score(nil), 1e-12)
	require.InDelta(t, 0.4, Score([]string{"FACE_BLURRY", "FACE_MISMATCH"}), 1e-12)
	require.Equal(t, "x", Text("x", "y").GetName())
	require.True(t, Flag("f", true).GetFlag())
	require.Equal(t, "px", Number("n", 2, "px").GetUnit())
}
