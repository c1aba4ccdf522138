package ui

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// RouteList is every method and path the server routes, for the test that
// holds the OpenAPI document to the routes.
func (s *Server) RouteList() (routes [][2]string) {
	for _, r := range s.echo.Routes() {
		routes = append(routes, [2]string{r.Method, r.Path})
	}
	return routes
}

// The document's list of error codes is the server's: a code missing from
// it is one a client written from the document cannot expect.
func TestTheOpenAPIDocumentListsEveryErrorCode(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Code struct {
							Enum []string `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	documented := slices.Sorted(slices.Values(doc.Components.Schemas.Error.Properties.Code.Enum))
	served := slices.Sorted(maps.Keys(statusOf))
	if !slices.Equal(documented, served) {
		t.Fatalf("the document lists the error codes %v; the server answers with %v", documented, served)
	}
}
