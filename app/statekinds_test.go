package app

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// A kind of state missing from StateKinds is not copied where the whole
// state is copied (a cluster's state bucket): every StateKind constant of
// the package must be listed.
func TestStateKindsListsEveryKind(t *testing.T) {
	pkgs, err := goparser.ParseDir(token.NewFileSet(), ".", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []StateKind
	for _, f := range pkgs["app"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if id, ok := spec.Type.(*ast.Ident); !ok || id.Name != "StateKind" {
				return true
			}
			for _, v := range spec.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					declared = append(declared, StateKind(s))
				}
			}
			return true
		})
	}
	if len(declared) < 5 {
		t.Fatalf("found only %d StateKind constants: %v", len(declared), declared)
	}
	for _, k := range declared {
		if !slices.Contains(StateKinds, k) {
			t.Errorf("StateKinds lacks %q", k)
		}
	}
}
