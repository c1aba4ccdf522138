package app

import "strings"

// Plan is the workspace's subscription. The Audit Log page and its read and
// export API are part of Pro and above; entries are recorded on every plan.
type Plan string

// The plans, from the least to the most.
const (
	PlanFree       Plan = "free"
	PlanPro        Plan = "pro"
	PlanEnterprise Plan = "enterprise"
)

// Plans lists the plans from the least to the most.
var Plans = []Plan{PlanFree, PlanPro, PlanEnterprise}

// DisplayName is the plan as people read it: "Free", "Pro", "Enterprise".
func (p Plan) DisplayName() string {
	if p == "" {
		return ""
	}
	return strings.ToUpper(string(p[:1])) + string(p[1:])
}

// HasAuditLog reports whether the plan includes reading the Audit Log.
func (p Plan) HasAuditLog() bool { return p == PlanPro || p == PlanEnterprise }

// ParsePlan reads a plan by name, in any case.
func ParsePlan(s string) (Plan, error) {
	p := Plan(strings.ToLower(strings.TrimSpace(s)))
	switch p {
	case PlanFree, PlanPro, PlanEnterprise:
		return p, nil
	}
	return "", Errorf(EINVALID, "plan: %q is not one of free, pro, enterprise", s)
}

// AuditLogNeedsPro is what a workspace on Free is told when it reads the log.
const AuditLogNeedsPro = "The Audit Log (a searchable, exportable, tamper-evident record of every change in this workspace) is available on the Pro plan and above; this workspace is on Free. Entries are still recorded: change the plan in Settings → General to read them."
