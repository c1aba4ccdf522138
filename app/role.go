package app

import "strings"

// Role is what a member of the workspace may do. Roles are ordered: each
// may do everything the ones below it may.
type Role string

// The roles, from the most to the least allowed.
const (
	RoleOwner  Role = "owner"  // everything, including ownership
	RoleAdmin  Role = "admin"  // everything but ownership
	RoleViewer Role = "viewer" // reads the Audit Log and exports it; changes nothing
)

// Roles lists the roles from the most to the least allowed.
var Roles = []Role{RoleOwner, RoleAdmin, RoleViewer}

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// AtLeast reports whether r may do what min may.
func (r Role) AtLeast(min Role) bool { return r.rank() > 0 && r.rank() >= min.rank() }

// DisplayName is the role as the page shows it: "Owner", "Admin", "Viewer".
func (r Role) DisplayName() string {
	if r == "" {
		return ""
	}
	return strings.ToUpper(string(r[:1])) + string(r[1:])
}

// ParseRole reads a role by name, in any case.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return "", Errorf(EINVALID, "role: %q is not one of owner, admin, viewer", s)
	}
	return r, nil
}
