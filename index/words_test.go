package index

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
)

// sameTokens says how two analyses of one text differ, if they do.
func sameTokens(got, want analysis.TokenStream) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d tokens, want %d: %v, want %v", len(got), len(want), terms(got), terms(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if string(g.Term) != string(w.Term) || g.Start != w.Start || g.End != w.End || g.Position != w.Position || g.Type != w.Type {
			return fmt.Errorf("token %d: %q [%d,%d) at %d type %d; want %q [%d,%d) at %d type %d",
				i, g.Term, g.Start, g.End, g.Position, g.Type, w.Term, w.Start, w.End, w.Position, w.Type)
		}
	}
	return nil
}

func terms(ts analysis.TokenStream) []string {
	var out []string
	for _, t := range ts {
		out = append(out, string(t.Term))
	}
	return out
}

// The ASCII path must split and lower-case exactly as the analyzer every
// shard was built with: a word split another way would no longer be found.
func TestASCIIWordsMatchBleve(t *testing.T) {
	cases := []string{
		"", "a", "Revoked API token \"ci-deploy\"", "can't won't O'Neil rock'n'roll", "'quoted' 'a' a' 'a",
		"120,000 rows in 42s; 1;2 1,,2 ,1, 1,a a,1 3.14 v1.2.3 1'000 a'1 1'a", "orders_daily.csv at 10:42:07",
		"alice@acme.io https://example.com/x?y=z#w", "MIXED case AbC123 123abc 1a2b", "tab\there\nnew\r\nline\v\f",
		"__init__ ... ::: '' ,, ;;", "x'y'z 1'2'3 1,2;3 9,a'b",
	}
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = "aZk09 '',,;;._:-\n\"@/#()!?\t"
	for range 20000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		want := textAnalysis.Analyze([]byte(c))
		if err := sameTokens(asciiWords([]byte(c)), want); err != nil {
			t.Fatalf("%q: %v", c, err)
		}
	}
}

func FuzzASCIIWordsMatchBleve(f *testing.F) {
	f.Add("can't 120,000 rows; orders_daily v1.2")
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return // the path is for ASCII only; other text goes to Bleve's analyzer
			}
		}
		if err := sameTokens(asciiWords([]byte(s)), textAnalysis.Analyze([]byte(s))); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	})
}

// BenchmarkAnalyzeText analyzes an entry's values as the index does, by the
// ASCII path and by Bleve's analyzer.
func BenchmarkAnalyzeText(b *testing.B) {
	text := []byte("Pipeline \"daily_revenue_rollup\" finished run 4821: 120,000 rows in 42s\nMaya Chen\npipeline_run_finished\ntok_j3rh3mrlmqi5\nfp_66f9387569\ndaily_revenue_rollup\npl_1\n")
	for _, c := range []struct {
		name    string
		analyze func([]byte) analysis.TokenStream
	}{{"ascii", analyzeText}, {"bleve", textAnalysis.Analyze}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.analyze(append([]byte(nil), text...))
			}
		})
	}
}
