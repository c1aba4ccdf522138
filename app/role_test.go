package app

import "testing"

func TestRolesAreOrdered(t *testing.T) {
	for _, tt := range []struct {
		r, min Role
		want   bool
	}{
		{RoleOwner, RoleAdmin, true}, {RoleAdmin, RoleAdmin, true}, {RoleViewer, RoleAdmin, false},
		{RoleViewer, RoleViewer, true}, {RoleAdmin, RoleOwner, false}, {"", RoleViewer, false}, {"root", RoleViewer, false},
	} {
		if got := tt.r.AtLeast(tt.min); got != tt.want {
			t.Errorf("%q.AtLeast(%q) = %v", tt.r, tt.min, got)
		}
	}
	if r, err := ParseRole(" Viewer "); err != nil || r != RoleViewer {
		t.Errorf("ParseRole = %q, %v", r, err)
	}
	if _, err := ParseRole("root"); ErrorCode(err) != EINVALID {
		t.Errorf("ParseRole(root) = %v", err)
	}
}
