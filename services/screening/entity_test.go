package screening

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseDate(t *testing.T) {
	for in, want := range map[string]DateSpec{
		"1960-01-12":           {Year: 1960, Month: 1, Day: 12},
		"1960-01":              {Year: 1960, Month: 1},
		"1960":                 {Year: 1960},
		"1960..1962":           {Year: 1960, ToYear: 1962},
		"1960/1962":            {Year: 1960, ToYear: 1962},
		"1960..1960":           {Year: 1960},
		"~1960":                {Year: 1960, Circa: true},
		"circa 1960-05":        {Year: 1960, Month: 5, Circa: true},
		"1960-01-12T00:00:00Z": {Year: 1960, Month: 1, Day: 12},
		" 1960 ":               {Year: 1960},
	} {
		got, err := ParseDate(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "x", "1960-13", "1960-02-30", "1960-00-05", "1962..1960", "12-01-1960", "1960-1-1-1", "1700", "-1960", "1960..x"} {
		_, err := ParseDate(in)
		require.ErrorIs(t, err, ErrInvalidQuery, in)
	}
}

func TestDateSpec(t *testing.T) {
	d := DateSpec{Year: 1960, Month: 1, Day: 12}
	require.True(t, d.Exact())
	require.Equal(t, "1960-01-12", d.String())
	from, to := d.Range()
	require.Equal(t, [2]int{1960, 1960}, [2]int{from, to})
	c := DateSpec{Year: 1960, Circa: true}
	require.False(t, c.Exact())
	from, to = c.Range()
	require.Equal(t, [2]int{1958, 1962}, [2]int{from, to})
	require.Equal(t, "~1960", c.String())
	require.Equal(t, "1960..1962", DateSpec{Year: 1960, ToYear: 1962}.String())
	require.Equal(t, "1960-05", DateSpec{Year: 1960, Month: 5}.String())
	require.Equal(t, "", DateSpec{}.String())
	require.True(t, DateSpec{}.IsZero())
	require.NoError(t, DateSpec{}.Validate())
	require.Error(t, DateSpec{Year: 1960, Day: 3}.Validate())
}

func TestEntityHelpers(t *testing.T) {
	e := Entity{Names: []Name{{Full: "A", Kind: NameAlias}, {Full: "B", Kind: NamePrimary}}, Topics: []string{"sanction"}}
	require.Equal(t, "B", e.PrimaryName())
	require.False(t, e.IsPEP())
	e.Topics = append(e.Topics, "role.rca")
	require.True(t, e.IsPEP())
	require.Equal(t, "", (&Entity{}).PrimaryName())
	require.Equal(t, "A", (&Entity{Names: []Name{{Full: "A", Kind: NameWeak}}}).PrimaryName())
	require.Equal(t, "ofac@0123", Version{Source: SourceOFAC, ID: "0123"}.String())
	require.True(t, EntityVessel.Known())
	require.False(t, EntityUnknown.Known())
	require.False(t, EntityType("").Known())
	require.Equal(t, "AB123456", NormalizeDocument(" ab 123-456 "))
}

func TestQueryValidate(t *testing.T) {
	require.NoError(t, Query{Name: "X"}.Validate())
	require.ErrorIs(t, Query{}.Validate(), ErrInvalidQuery)
	require.ErrorIs(t, Query{Name: "X", Type: "dog"}.Validate(), ErrInvalidQuery)
	require.ErrorIs(t, Query{Name: "X", DOB: DateSpec{Year: 1960, Month: 2, Day: 30}}.Validate(), ErrInvalidQuery)
	long := make([]byte, maxQueryName+1)
	for i := range long {
		long[i] = 'A'
	}
	require.ErrorIs(t, Query{Name: string(long)}.Validate(), ErrInvalidQuery)
}

func TestScoringValidate(t *testing.T) {
	require.NoError(t, DefaultScoring().Validate())
	s := DefaultScoring()
	s.MiddleFactor = 2
	require.ErrorIs(t, s.Validate(), ErrInvalidOption)
	s = DefaultScoring()
	s.DOBConflict = 0.1
	require.ErrorIs(t, s.Validate(), ErrInvalidOption)
	s = DefaultScoring()
	s.TypoSlope = math.NaN()
	require.ErrorIs(t, s.Validate(), ErrInvalidOption)
}

func TestDOBAdjustment(t *testing.T) {
	cfg := DefaultScoring()
	exact := DateSpec{Year: 1968, Month: 1, Day: 2}
	cases := []struct {
		q    DateSpec
		dobs []DateSpec
		want float64
	}{
		{exact, []DateSpec{exact}, cfg.DOBExact},
		{exact, []DateSpec{{Year: 1968}}, cfg.DOBSameYear},
		{DateSpec{Year: 1968}, []DateSpec{exact}, cfg.DOBSameYear},
		{exact, []DateSpec{{Year: 1968, Month: 2, Day: 1}}, cfg.DOBInRange}, // same year, other day
		{exact, []DateSpec{{Year: 1966, ToYear: 1969}}, cfg.DOBInRange},
		{exact, []DateSpec{{Year: 1970, Circa: true}}, cfg.DOBInRange},
		{exact, []DateSpec{{Year: 1990}}, cfg.DOBConflict},
		{exact, []DateSpec{{Year: 1990}, {Year: 1968}}, cfg.DOBSameYear}, // the best date wins
		{exact, []DateSpec{{Year: 1971, Circa: true}}, cfg.DOBConflict},
	}
	for _, c := range cases {
		require.Equal(t, c.want, dobAdjustment(c.q, c.dobs, &cfg), "%v vs %v", c.q, c.dobs)
	}
}

func TestSelectTop(t *testing.T) {
	for n := 1; n < 300; n += 7 {
		c := make([]candidate, n)
		for i := range c {
			c[i] = candidate{nid: int32(i), bs: float32((i * 7919) % 97)}
		}
		for _, k := range []int{1, n / 2, n - 1} {
			if k < 1 || k >= n {
				continue
			}
			cc := append([]candidate(nil), c...)
			selectTop(cc, k)
			var minTop float32 = 1e9
			for _, x := range cc[:k] {
				minTop = min(minTop, x.bs)
			}
			for _, x := range cc[k:] {
				require.LessOrEqual(t, x.bs, minTop, "n=%d k=%d", n, k)
			}
		}
	}
}
