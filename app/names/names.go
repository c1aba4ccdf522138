// Package names tells people's names apart as they are drawn: by the
// skeletons of Unicode's security mechanisms (UTS #39), with which a
// Cyrillic А is a Latin A and rn is m. The skeletons are the confusables
// module's, computed from Unicode's own table; the domain, which keeps to
// the standard library, holds none, and this package gives it them when
// imported (as the command line does).
package names

import (
	"github.com/mtibben/confusables"

	"auditlog/app"
)

func init() { app.RegisterNameSkeleton(confusables.Skeleton) }
