package ui

// RouteList is every method and path the server routes, for the test that
// holds the OpenAPI document to the routes.
func (s *Server) RouteList() (routes [][2]string) {
	for _, r := range s.echo.Routes() {
		routes = append(routes, [2]string{r.Method, r.Path})
	}
	return routes
}
