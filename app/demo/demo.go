package demo

import (
	"auditlog/app"

	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Events returns about 30 days of believable activity in a data workspace,
// ending at now and sorted oldest first: members editing pipelines and data
// products, scheduled pipeline runs, sign-ins, CI deploys, and a handful of
// rarer lifecycle changes. The same now and seed always give the same events.
// Every event passes Normalize with a 30-day retention; none is newer than now
// or older than 29.5 days. IDs are left empty: Load gives each one from the seed.
//
// Four stories answer the questions the product is built for, with names
// that stay the same for every seed:
//
//  1. Who created or revoked an API token? Daniel Okafor creates the API token
//     "ci-deploy" 21 days ago and regenerates it 12 days ago; Lukas Brandt
//     revokes it 2 days ago (token_created, token_regenerated, token_revoked).
//  2. When was a new connection added, and by whom? Tomás Ortega creates
//     "Snowflake Warehouse" 20 days ago; Chloé Martin adds "HubSpot Marketing"
//     9 days ago and Daniel Okafor "Kafka – clickstream" 6 days ago
//     (connection_created).
//  3. Who invited the external partner to this data product? Maya Chen invites
//     jordan@acme-partners.com to the data product "Customer 360" 6 days ago
//     (data_product_invite_sent); the partner accepts that afternoon, shown as
//     Anonymous (data_product_invite_accepted). Sofia Lindqvist's connection
//     invite to ops@northwind-logistics.com is consumed the same way
//     (connection_invite_consumed).
//  4. Which pipelines have been created or modified recently? Within the last
//     7 days: "kafka_clickstream_ingest", "hubspot_contacts_sync",
//     "partner_orders_export", "snowflake_cost_monitor" and
//     "inventory_snapshot" are created (pipeline_created), and
//     "daily_revenue_rollup" gets a new schedule (pipeline_modified), besides
//     everyday edits.
//
// Anonymous acts only when an external party accepts an invite.
func Events(now time.Time, seed int64) []app.Event {
	g := newDemoGen(now, seed)
	g.stories()
	g.scheduledRuns()
	g.ciDeploys()
	g.members()
	slices.SortStableFunc(g.events, func(a, b app.Event) int { return a.Timestamp.Compare(b.Timestamp) })
	return g.events
}

// The names the stories use; tests look for them.
const (
	StoryToken       = "ci-deploy"
	StoryConnection  = "Snowflake Warehouse"
	StoryPartner     = "jordan@acme-partners.com"
	StoryDataProduct = "Customer 360"
)

// StoryPipelines are the pipelines created within the last 7 days.
var StoryPipelines = []string{"kafka_clickstream_ingest", "hubspot_contacts_sync", "partner_orders_export", "snowflake_cost_monitor", "inventory_snapshot"}

// demoSpan is how far back the demo reaches: inside a 30-day retention window
// with room to spare.
const demoSpan = 29*24*time.Hour + 12*time.Hour

type demoMember struct {
	name  string
	email string
	tz    *time.Location
	rate  float64  // mean actions on a working day
	kind  string   // engineer, lead, analyst, admin, viewer: what they usually do
	home  []string // spaces they mostly work in
	ips   []string
	// before is the kind until promoted; used for a role change in the window.
	before   string
	promoted time.Time
	joined   time.Time // zero: a member before the window began
	left     time.Time // zero: still a member
	leave    [2]int    // days ago [from, to] on leave; zero: none
}

type demoConn struct {
	name, kind, dir, space string
	born, gone             time.Time
	tables                 int
}

type demoSched struct {
	from          time.Time
	every, offset time.Duration
	label         string
}

type demoPipeline struct {
	name, source, space, product string
	dest                         []demoDest
	sched                        []demoSched
	rows                         int
	steps                        []string
	born, gone                   time.Time
	paused                       [][2]time.Time
}

type demoDest struct {
	from time.Time
	name string
}

type demoProduct struct {
	name, space string
	columns     []string
	rows        int // about how many rows it holds
	born, gone  time.Time
	version     int
}

type demoSpace struct {
	name       string
	partner    bool
	born, gone time.Time
}

type demoGen struct {
	rng        *rand.Rand
	seed       int64
	now, start time.Time
	events     []app.Event

	people    []*demoMember
	byName    map[string]*demoMember
	conns     []*demoConn
	pipes     []*demoPipeline
	pipeBy    map[string]*demoPipeline
	products  []*demoProduct
	productBy map[string]*demoProduct
	spaces    []*demoSpace
	pr        int // next CI pull request number
}

func newDemoGen(now time.Time, seed int64) *demoGen {
	g := &demoGen{
		rng:       rand.New(rand.NewPCG(uint64(seed), 0x5ca1ab1e0ddba11)),
		seed:      seed,
		now:       now,
		start:     now.Add(-demoSpan),
		byName:    map[string]*demoMember{},
		pipeBy:    map[string]*demoPipeline{},
		productBy: map[string]*demoProduct{},
		pr:        4120 + int(uint64(seed)%300),
	}
	zone := func(name string, hours float64) *time.Location {
		return time.FixedZone(name, int(hours*3600))
	}
	pacific, eastern := zone("PDT", -7), zone("EDT", -4)
	london, cet, eet := zone("BST", 1), zone("CEST", 2), zone("EEST", 3)
	india, tokyo := zone("IST", 5.5), zone("JST", 9)
	g.people = []*demoMember{
		{name: "Maya Chen", tz: pacific, rate: 18, kind: "lead", home: []string{"Data Platform"}, ips: []string{"203.0.113.24", "2001:db8:4f1a:9e00::17", "10.40.2.31"}},
		{name: "Tomás Ortega", tz: cet, rate: 19, kind: "engineer", home: []string{"Data Platform", "Finance"}, ips: []string{"198.51.100.42", "10.40.7.12"}},
		{name: "Priya Raman", tz: india, rate: 16, kind: "engineer", home: []string{"Customer Success", "Acme Partners"}, ips: []string{"203.0.113.161", "10.40.9.88"}},
		{name: "Daniel Okafor", tz: london, rate: 14, kind: "engineer", home: []string{"Data Platform"}, ips: []string{"198.51.100.7", "10.40.3.54"}, leave: [2]int{17, 14}},
		{name: "Sofia Lindqvist", tz: cet, rate: 7, kind: "admin", home: []string{"Finance", "Northwind Logistics"}, ips: []string{"198.51.100.19", "10.40.1.5"}},
		{name: "Ben Whitaker", tz: eastern, rate: 8, kind: "analyst", before: "viewer", home: []string{"Finance"}, ips: []string{"203.0.113.90", "10.40.5.140"}},
		{name: "Chloé Martin", tz: cet, rate: 10, kind: "analyst", home: []string{"Marketing Analytics", "Q3 Campaign Review"}, ips: []string{"198.51.100.63", "10.40.6.21"}, leave: [2]int{22, 19}},
		{name: "Aiko Tanaka", tz: tokyo, rate: 7, kind: "analyst", home: []string{"Customer Success"}, ips: []string{"203.0.113.205", "10.40.8.77"}},
		{name: "Rahul Mehta", tz: india, rate: 7, kind: "analyst", home: []string{"Finance", "Customer Success"}, ips: []string{"203.0.113.162", "10.40.9.91"}},
		{name: "Lukas Brandt", tz: cet, rate: 4, kind: "admin", home: []string{"Data Platform"}, ips: []string{"198.51.100.20", "10.40.1.9"}},
		{name: "Marco Bianchi", tz: cet, rate: 10, kind: "engineer", home: []string{"Data Platform", "Finance"}, ips: []string{"192.0.2.145", "10.40.7.230"}},
		{name: "Elena Petrova", tz: eet, rate: 11, kind: "engineer", home: []string{"Data Platform"}, ips: []string{"192.0.2.58", "10.40.7.64"}},
	}
	for _, m := range g.people {
		m.email = demoEmail(m.name)
		g.byName[m.name] = m
	}

	g.spaces = []*demoSpace{
		{name: "Data Platform"},
		{name: "Finance"},
		{name: "Marketing Analytics"},
		{name: "Customer Success"},
		{name: "Q3 Campaign Review"},
		{name: "Acme Partners", partner: true},
		{name: "Northwind Logistics", partner: true},
	}
	g.conns = []*demoConn{
		{name: "Salesforce CRM", kind: "Salesforce", dir: "source", space: "Customer Success", tables: 42},
		{name: "Postgres – orders", kind: "PostgreSQL", dir: "source", space: "Data Platform", tables: 18},
		{name: "S3 raw-events", kind: "Amazon S3", dir: "source", space: "Data Platform", tables: 6},
		{name: "Stripe Billing", kind: "Stripe", dir: "source", space: "Finance", tables: 23},
		{name: "Zendesk Support", kind: "Zendesk", dir: "source", space: "Customer Success", tables: 11},
		{name: "BigQuery – analytics", kind: "BigQuery", dir: "destination", space: "Data Platform", tables: 120},
		{name: "Google Ads (legacy)", kind: "Google Ads", dir: "source", space: "Marketing Analytics", tables: 9},
		{name: StoryConnection, kind: "Snowflake", dir: "destination", space: "Data Platform", tables: 0},
		{name: "HubSpot Marketing", kind: "HubSpot", dir: "source", space: "Marketing Analytics", tables: 14},
		{name: "Kafka – clickstream", kind: "Kafka", dir: "source", space: "Data Platform", tables: 3},
		{name: "Northwind – shipments", kind: "SFTP", dir: "source", space: "Northwind Logistics", tables: 2},
	}
	hour := time.Hour
	daily := func(h, m int) demoSched {
		return demoSched{every: 24 * hour, offset: time.Duration(h)*hour + time.Duration(m)*time.Minute, label: fmt.Sprintf("daily at %02d:%02d UTC", h, m)}
	}
	bq := []demoDest{{name: "BigQuery – analytics"}}
	sf := []demoDest{{name: StoryConnection}}
	g.pipes = []*demoPipeline{
		{name: "orders_cdc", source: "Postgres – orders", dest: bq, space: "Data Platform", rows: 9000,
			sched: []demoSched{{every: hour, offset: 5 * time.Minute, label: "hourly at :05"}},
			steps: []string{"extract_changes", "apply_deletes", "merge_orders"}},
		{name: "salesforce_accounts_sync", source: "Salesforce CRM", dest: bq, space: "Customer Success", rows: 2400,
			sched: []demoSched{{every: 2 * hour, offset: 15 * time.Minute, label: "every 2 hours"}},
			steps: []string{"fetch_accounts", "map_owner_ids", "upsert_accounts"}},
		{name: "clickstream_sessionize", source: "S3 raw-events", dest: bq, space: "Data Platform", product: "Product Usage Metrics", rows: 1800000,
			sched: []demoSched{{every: 6 * hour, offset: 30 * time.Minute, label: "every 6 hours"}},
			steps: []string{"parse_events", "filter_bots", "sessionize"}},
		{name: "daily_revenue_rollup", source: "Stripe Billing", dest: bq, space: "Finance", product: "Revenue Daily", rows: 52000,
			sched: []demoSched{daily(2, 0)},
			steps: []string{"load_invoices", "fx_normalize", "rollup_by_day"}},
		{name: "customer_360_build", source: "Salesforce CRM", dest: bq, space: "Customer Success", product: StoryDataProduct, rows: 2100000,
			sched: []demoSched{daily(4, 0)},
			steps: []string{"join_accounts", "merge_support_history", "score_health"}},
		{name: "marketing_attribution", source: "S3 raw-events", dest: bq, space: "Marketing Analytics", product: "Marketing Funnel", rows: 340000,
			sched: []demoSched{daily(6, 0)},
			steps: []string{"collect_touchpoints", "attribute_last_touch", "channel_rollup"}},
		{name: "support_tickets_daily", source: "Zendesk Support", dest: bq, space: "Customer Success", rows: 1800,
			sched: []demoSched{daily(1, 0)},
			steps: []string{"fetch_tickets", "sla_metrics"}},
		{name: "churn_features_weekly", source: "BigQuery – analytics", dest: bq, space: "Customer Success", product: "Churn Risk Scores", rows: 61000,
			sched: []demoSched{{every: 7 * 24 * hour, offset: 3 * hour, label: "Mondays at 03:00 UTC"}},
			steps: []string{"usage_features", "billing_features", "score_churn"}},
		{name: "supplier_scorecard_build", source: "Postgres – orders", dest: bq, space: "Finance", product: "Supplier Scorecard", rows: 450,
			sched: []demoSched{daily(7, 15)},
			steps: []string{"on_time_rate", "defect_rate", "score_suppliers"}},
		{name: "legacy_ga_import", source: "Google Ads (legacy)", dest: bq, space: "Marketing Analytics", rows: 12000,
			sched: []demoSched{daily(5, 0)},
			steps: []string{"fetch_campaigns", "map_utm"}},
		{name: "kafka_clickstream_ingest", source: "Kafka – clickstream", dest: sf, space: "Data Platform", rows: 260000,
			sched: []demoSched{{every: hour, offset: 20 * time.Minute, label: "hourly at :20"}},
			steps: []string{"consume_topic", "decode_avro", "append_events"}},
		{name: "hubspot_contacts_sync", source: "HubSpot Marketing", dest: sf, space: "Marketing Analytics", rows: 7300,
			sched: []demoSched{daily(5, 30)},
			steps: []string{"fetch_contacts", "dedupe_emails", "upsert_contacts"}},
		{name: "partner_orders_export", source: StoryConnection, dest: sf, space: "Acme Partners", product: "Partner Orders Feed", rows: 14000,
			sched: []demoSched{daily(7, 0)},
			steps: []string{"select_partner_orders", "mask_pii", "publish_feed"}},
		{name: "snowflake_cost_monitor", source: StoryConnection, dest: sf, space: "Data Platform", product: "Snowflake Spend", rows: 900,
			sched: []demoSched{daily(8, 0)},
			steps: []string{"query_history", "credits_by_warehouse"}},
		{name: "inventory_snapshot", source: "Postgres – orders", dest: sf, space: "Finance", rows: 38000,
			sched: []demoSched{{every: 6 * hour, offset: 45 * time.Minute, label: "every 6 hours"}},
			steps: []string{"snapshot_stock", "diff_previous"}},
	}
	for _, p := range g.pipes {
		g.pipeBy[p.name] = p
	}
	g.products = []*demoProduct{
		{name: StoryDataProduct, space: "Customer Success", rows: 2100000, version: 310, columns: []string{"lifetime_value", "health_score", "last_ticket_at", "nps_segment", "account_tier"}},
		{name: "Revenue Daily", space: "Finance", rows: 52000, version: 655, columns: []string{"net_revenue_eur", "refunds", "mrr_delta", "fx_rate_date"}},
		{name: "Marketing Funnel", space: "Marketing Analytics", rows: 340000, version: 212, columns: []string{"channel_group", "cost_per_lead", "mql_to_sql_rate", "utm_campaign"}},
		{name: "Churn Risk Scores", space: "Customer Success", rows: 61000, version: 48, columns: []string{"risk_band", "top_driver", "seats_trend_30d"}},
		{name: "Product Usage Metrics", space: "Data Platform", rows: 1800000, version: 402, columns: []string{"weekly_active_users", "session_p95_minutes", "feature_adoption"}},
		{name: "Supplier Scorecard", space: "Finance", rows: 450, version: 97, columns: []string{"on_time_rate", "defect_ppm", "lead_time_days"}},
		{name: "Q3 Campaign Attribution", space: "Q3 Campaign Review", rows: 3800, version: 31, columns: []string{"campaign_roi"}},
		{name: "Partner Orders Feed", space: "Acme Partners", rows: 14000, version: 0, columns: []string{"order_id", "ship_date", "sku", "quantity"}},
		{name: "Snowflake Spend", space: "Data Platform", rows: 900, version: 0, columns: []string{"credits_used", "warehouse", "cost_usd"}},
	}
	for _, p := range g.products {
		g.productBy[p.name] = p
	}
	return g
}

// at is a moment daysAgo local days back, at hh:mm on the member's clock.
func (g *demoGen) at(m *demoMember, daysAgo, hh, mm int) time.Time {
	l := g.now.In(m.tz)
	return time.Date(l.Year(), l.Month(), l.Day()-daysAgo, hh, mm, g.rng.IntN(60), g.rng.IntN(1000)*1e6, m.tz)
}

// stories writes the scripted events and fixes the lifetimes of the objects
// they create or remove, so the everyday activity stays consistent with them.
func (g *demoGen) stories() {
	p := g.byName
	maya, tomas, priya, daniel := p["Maya Chen"], p["Tomás Ortega"], p["Priya Raman"], p["Daniel Okafor"]
	sofia, ben, chloe, lukas := p["Sofia Lindqvist"], p["Ben Whitaker"], p["Chloé Martin"], p["Lukas Brandt"]
	marco, elena := p["Marco Bianchi"], p["Elena Petrova"]
	conn := func(name string) *demoConn {
		for _, c := range g.conns {
			if c.name == name {
				return c
			}
		}
		panic("demo: no connection " + name)
	}
	space := func(name string) *demoSpace {
		for _, s := range g.spaces {
			if s.name == name {
				return s
			}
		}
		panic("demo: no space " + name)
	}

	// Service user keys are rotated on their quarterly schedule.
	t := g.at(lukas, 25, 10, 2)
	g.serviceKeyRotated(t, lukas, "svc-airflow")
	g.serviceKeyRotated(t.Add(3*time.Minute), lukas, "svc-dbt")
	g.serviceKeyRotated(t.Add(7*time.Minute), lukas, "svc-github-actions")

	// A finished campaign space is archived with its data product.
	t = g.at(chloe, 23, 16, 12)
	q3 := g.productBy["Q3 Campaign Attribution"]
	q3.gone = t
	g.add(t, app.DataProducts, "data_product_deleted", chloe, "",
		`Deleted data product "Q3 Campaign Attribution" from space "Q3 Campaign Review"`,
		[]app.Target{g.productTarget(q3.name), g.spaceTarget("Q3 Campaign Review")}, nil)
	t = t.Add(4 * time.Minute)
	space("Q3 Campaign Review").gone = t
	g.add(t, app.Spaces, "space_archived", chloe, "", `Archived space "Q3 Campaign Review"`,
		[]app.Target{g.spaceTarget("Q3 Campaign Review")}, map[string]string{"data_products": "0", "members": "4"})

	// Story 1: the ci-deploy token.
	t = g.at(daniel, 21, 11, 5)
	scopes := "pipelines:write, deploy"
	g.add(t, app.APITokens, "token_created", daniel, "",
		fmt.Sprintf(`Created API token %q (scopes: %s; expires in 90 days)`, StoryToken, scopes),
		[]app.Target{g.tokenTarget(StoryToken)}, map[string]string{"scopes": scopes, "expires_in": "90d"})

	// Priya takes over administration for the Bengaluru team.
	t = g.at(maya, 19, 8, 55)
	g.add(t, app.Users, "user_role_changed", maya, "",
		"Changed the workspace role of Priya Raman from editor to admin",
		[]app.Target{g.userTarget(priya)}, map[string]string{"from": "editor", "to": "admin"})

	// Story 2: the warehouse moves to Snowflake.
	t = g.at(tomas, 20, 10, 22)
	sw := conn(StoryConnection)
	sw.born = t
	g.add(t, app.Connections, "connection_created", tomas, "",
		`Created connection "Snowflake Warehouse" (Snowflake, destination) in space "Data Platform"`,
		[]app.Target{g.connTarget(sw.name), g.spaceTarget("Data Platform")},
		map[string]string{"type": "snowflake", "direction": "destination", "account": "tessellate-eu.snowflakecomputing.com", "warehouse": "TRANSFORM_WH"})
	g.add(t.Add(19*time.Minute), app.Connections, "connection_updated", tomas, "",
		`Set warehouse size of connection "Snowflake Warehouse" to MEDIUM and enabled auto-suspend after 5 minutes`,
		[]app.Target{g.connTarget(sw.name)}, map[string]string{"warehouse_size": "MEDIUM", "auto_suspend": "300s"})
	t = g.at(maya, 18, 9, 40)
	g.add(t, app.APITokens, "token_scopes_updated", maya, "",
		`Updated scopes of API token "airflow-prod" to pipelines:execute, connections:read`,
		[]app.Target{g.tokenTarget("airflow-prod")}, map[string]string{"scopes": "pipelines:execute, connections:read", "previous_scopes": "pipelines:execute"})
	t = g.at(tomas, 17, 11, 48)
	g.switchDest(t, tomas, "daily_revenue_rollup")

	// A legacy source is retired with its pipeline.
	t = g.at(maya, 16, 10, 5)
	ga := g.pipeBy["legacy_ga_import"]
	ga.gone = t
	g.add(t, app.DataPipelines, "pipeline_deleted", maya, "",
		`Deleted pipeline "legacy_ga_import" (source "Google Ads (legacy)")`,
		[]app.Target{g.pipeTarget(ga.name), g.connTarget("Google Ads (legacy)")}, map[string]string{"schedule": "daily at 05:00 UTC"})
	t = t.Add(6 * time.Minute)
	conn("Google Ads (legacy)").gone = t
	g.add(t, app.Connections, "connection_deleted", maya, "",
		`Deleted connection "Google Ads (legacy)" (Google Ads, source)`,
		[]app.Target{g.connTarget("Google Ads (legacy)")}, map[string]string{"type": "google_ads", "direction": "source"})
	t = g.at(maya, 16, 13, 20)
	g.add(t, app.ServiceUsers, "service_user_created", maya, "",
		`Created service user "svc-reverse-etl" with role editor in space "Marketing Analytics"`,
		[]app.Target{g.serviceTarget("svc-reverse-etl"), g.spaceTarget("Marketing Analytics")}, map[string]string{"role": "editor"})

	// A new engineer joins.
	t = g.at(sofia, 17, 9, 30)
	g.add(t, app.Users, "user_invited", sofia, "",
		fmt.Sprintf("Invited Elena Petrova (%s) to the workspace as editor", elena.email),
		[]app.Target{g.userTarget(elena)}, map[string]string{"email": elena.email, "role": "editor"})
	t = g.at(elena, 16, 9, 12)
	elena.joined = t
	g.add(t, app.Users, "user_invite_accepted", elena, "",
		"Elena Petrova accepted the workspace invite and joined as editor",
		[]app.Target{g.userTarget(elena)}, map[string]string{"role": "editor"})
	g.add(g.at(maya, 16, 8, 3), app.Spaces, "space_member_added", maya, "",
		`Added Elena Petrova to space "Data Platform" as editor`,
		[]app.Target{g.spaceTarget("Data Platform"), g.userTarget(elena)}, map[string]string{"role": "editor"})

	t = g.at(priya, 15, 15, 10)
	g.switchDest(t, priya, "customer_360_build")
	t = g.at(chloe, 15, 10, 40)
	g.add(t, app.DataProducts, "data_product_invite_sent", chloe, "",
		`Invited sam@brightline-agency.io (Brightline Agency) to data product "Marketing Funnel" with read access`,
		[]app.Target{g.productTarget("Marketing Funnel"), {Type: "invitee", Name: "sam@brightline-agency.io"}},
		map[string]string{"invitee": "sam@brightline-agency.io", "access": "read", "expires_in": "7d"})
	t = g.at(chloe, 14, 9, 15)
	g.add(t, app.DataProducts, "data_product_invite_revoked", chloe, "",
		`Revoked the invite of sam@brightline-agency.io to data product "Marketing Funnel" before it was accepted`,
		[]app.Target{g.productTarget("Marketing Funnel"), {Type: "invitee", Name: "sam@brightline-agency.io"}},
		map[string]string{"invitee": "sam@brightline-agency.io"})
	t = g.at(priya, 14, 11, 25)
	g.add(t, app.APITokens, "token_regenerated", priya, "",
		`Regenerated API token "dbt-cloud" (scopes: data_products:write)`,
		[]app.Target{g.tokenTarget("dbt-cloud")}, map[string]string{"scopes": "data_products:write"})

	// A contractor leaves; his access goes with him.
	t = g.at(sofia, 13, 17, 2)
	marco.left = t
	g.add(t, app.Users, "user_removed", sofia, "",
		"Removed Marco Bianchi from the workspace (contract ended)",
		[]app.Target{g.userTarget(marco)}, map[string]string{"role": "editor", "reason": "contract ended"})
	g.add(t.Add(2*time.Second), app.Spaces, "space_member_removed", sofia, "",
		`Removed Marco Bianchi from space "Data Platform"`,
		[]app.Target{g.spaceTarget("Data Platform"), g.userTarget(marco)}, nil)
	g.add(t.Add(3*time.Minute), app.APITokens, "token_revoked", sofia, "",
		`Revoked API token "marco-notebook" (scopes: pipelines:read, data_products:read)`,
		[]app.Target{g.tokenTarget("marco-notebook")}, map[string]string{"scopes": "pipelines:read, data_products:read", "reason": "owner removed"})

	// Story 1, continued.
	t = g.at(daniel, 12, 16, 40)
	g.add(t, app.APITokens, "token_regenerated", daniel, "",
		fmt.Sprintf(`Regenerated API token %q (scopes: %s); the previous secret stopped working`, StoryToken, scopes),
		[]app.Target{g.tokenTarget(StoryToken)}, map[string]string{"scopes": scopes})

	// A partner shares shipment data through a connection invite.
	t = g.at(sofia, 12, 10, 0)
	space("Northwind Logistics").born = t
	g.add(t, app.Spaces, "space_created", sofia, "", `Created partner space "Northwind Logistics"`,
		[]app.Target{g.spaceTarget("Northwind Logistics")}, map[string]string{"kind": "partner", "partner": "Northwind Logistics"})
	g.add(t.Add(11*time.Minute), app.Connections, "connection_invite_sent", sofia, "",
		`Sent a connection invite to ops@northwind-logistics.com for space "Northwind Logistics"`,
		[]app.Target{g.spaceTarget("Northwind Logistics"), {Type: "invitee", Name: "ops@northwind-logistics.com"}},
		map[string]string{"invitee": "ops@northwind-logistics.com", "expires_in": "7d"})
	t = g.at(sofia, 11, 15, 47) // the partner answers the next afternoon
	nw := conn("Northwind – shipments")
	nw.born = t
	g.addIP(t, app.Connections, "connection_invite_consumed", app.Anonymous, "192.0.2.186",
		`ops@northwind-logistics.com consumed the connection invite and added connection "Northwind – shipments" (SFTP, source) to space "Northwind Logistics"`,
		[]app.Target{g.connTarget(nw.name), g.spaceTarget("Northwind Logistics"), {Type: "invitee", Name: "ops@northwind-logistics.com"}},
		map[string]string{"invitee": "ops@northwind-logistics.com", "type": "sftp"})
	t = g.at(sofia, 10, 9, 50)
	g.add(t, app.DataProducts, "data_product_invite_sent", sofia, "",
		`Invited k.osei@northwind-logistics.com (Northwind Logistics) to data product "Supplier Scorecard" with read access`,
		[]app.Target{g.productTarget("Supplier Scorecard"), {Type: "invitee", Name: "k.osei@northwind-logistics.com"}},
		map[string]string{"invitee": "k.osei@northwind-logistics.com", "access": "read", "expires_in": "7d"})
	t = g.at(sofia, 10, 14, 31)
	g.addIP(t, app.DataProducts, "data_product_invite_accepted", app.Anonymous, "192.0.2.190",
		`k.osei@northwind-logistics.com accepted the invite to data product "Supplier Scorecard"`,
		[]app.Target{g.productTarget("Supplier Scorecard"), {Type: "invitee", Name: "k.osei@northwind-logistics.com"}},
		map[string]string{"invitee": "k.osei@northwind-logistics.com", "access": "read"})
	t = g.at(tomas, 10, 16, 5)
	g.add(t, app.DataPipelines, "pipeline_modified", tomas, "",
		`Added source "Northwind – shipments" to pipeline "supplier_scorecard_build"`,
		[]app.Target{g.pipeTarget("supplier_scorecard_build"), g.connTarget(nw.name)}, map[string]string{"change": "source_added"})

	// A viewer becomes an editor; a BI tool gets read access.
	t = g.at(sofia, 10, 11, 20)
	ben.promoted = t
	g.add(t, app.Users, "user_role_changed", sofia, "",
		"Changed the workspace role of Ben Whitaker from viewer to editor",
		[]app.Target{g.userTarget(ben)}, map[string]string{"from": "viewer", "to": "editor"})
	t = g.at(maya, 11, 10, 14)
	g.add(t, app.APITokens, "token_created", maya, "",
		`Created API token "looker-embed" (scopes: data_products:read; no expiry)`,
		[]app.Target{g.tokenTarget("looker-embed")}, map[string]string{"scopes": "data_products:read", "expires_in": "never"})
	t = g.at(lukas, 11, 14, 0)
	g.add(t, app.ServiceUsers, "service_user_disabled", lukas, "",
		`Disabled service user "svc-legacy-etl" (no activity for 90 days)`,
		[]app.Target{g.serviceTarget("svc-legacy-etl")}, map[string]string{"last_active": "90d ago"})
	g.add(t.Add(12*time.Minute), app.ServiceUsers, "service_user_role_changed", lukas, "",
		`Changed the role of service user "svc-github-actions" from admin to editor`,
		[]app.Target{g.serviceTarget("svc-github-actions")}, map[string]string{"from": "admin", "to": "editor"})

	// The clickstream pipeline is paused for a backfill.
	cs := g.pipeBy["clickstream_sessionize"]
	pauseAt, resumeAt := g.at(tomas, 9, 15, 10), g.at(tomas, 8, 10, 35)
	cs.paused = append(cs.paused, [2]time.Time{pauseAt, resumeAt})
	g.add(pauseAt, app.DataPipelines, "pipeline_paused", tomas, "",
		`Paused pipeline "clickstream_sessionize" for a backfill of "S3 raw-events"`,
		[]app.Target{g.pipeTarget(cs.name)}, map[string]string{"reason": "backfill"})
	g.add(resumeAt, app.DataPipelines, "pipeline_resumed", tomas, "",
		`Resumed pipeline "clickstream_sessionize" (every 6 hours)`,
		[]app.Target{g.pipeTarget(cs.name)}, map[string]string{"schedule": "every 6 hours"})

	t = g.at(chloe, 9, 11, 2)
	hs := conn("HubSpot Marketing")
	hs.born = t
	g.add(t, app.Connections, "connection_created", chloe, "",
		`Created connection "HubSpot Marketing" (HubSpot, source) in space "Marketing Analytics"`,
		[]app.Target{g.connTarget(hs.name), g.spaceTarget("Marketing Analytics")},
		map[string]string{"type": "hubspot", "direction": "source", "portal": "EU1"})
	t = g.at(chloe, 9, 11, 40)
	g.add(t, app.ServiceUsers, "service_user_permissions_updated", chloe, "",
		`Allowed service user "svc-reverse-etl" to read connection "HubSpot Marketing"`,
		[]app.Target{g.serviceTarget("svc-reverse-etl"), g.connTarget(hs.name)}, map[string]string{"permission": "connections:read"})
	t = g.at(elena, 9, 14, 20)
	g.add(t, app.APITokens, "token_created", elena, "",
		`Created API token "grafana-metrics" (scopes: pipelines:read; expires in 180 days)`,
		[]app.Target{g.tokenTarget("grafana-metrics")}, map[string]string{"scopes": "pipelines:read", "expires_in": "180d"})

	// Story 3: the Acme partnership.
	t = g.at(maya, 8, 9, 15)
	space("Acme Partners").born = t
	g.add(t, app.Spaces, "space_created", maya, "", `Created partner space "Acme Partners"`,
		[]app.Target{g.spaceTarget("Acme Partners")}, map[string]string{"kind": "partner", "partner": "Acme Partners"})
	g.add(t.Add(9*time.Minute), app.Spaces, "space_settings_updated", maya, "",
		`Updated settings of space "Acme Partners": allowed external members, read-only by default`,
		[]app.Target{g.spaceTarget("Acme Partners")}, map[string]string{"external_members": "allowed", "default_access": "read"})
	t = g.at(tomas, 8, 17, 30)
	g.add(t, app.APITokens, "token_created", tomas, "",
		`Created API token "tomas-local-dev" (scopes: pipelines:read, pipelines:write; expires in 7 days)`,
		[]app.Target{g.tokenTarget("tomas-local-dev")}, map[string]string{"scopes": "pipelines:read, pipelines:write", "expires_in": "7d"})
	t = g.at(maya, 7, 10, 2)
	g.add(t, app.DataProducts, "data_product_shared", maya, "",
		`Shared data product "Customer 360" with space "Acme Partners" (read-only, PII columns masked)`,
		[]app.Target{g.productTarget(StoryDataProduct), g.spaceTarget("Acme Partners")}, map[string]string{"access": "read", "masking": "pii"})
	t = g.at(tomas, 7, 9, 12)
	g.add(t, app.APITokens, "token_revoked", tomas, "",
		`Revoked API token "tomas-local-dev" (scopes: pipelines:read, pipelines:write)`,
		[]app.Target{g.tokenTarget("tomas-local-dev")}, map[string]string{"scopes": "pipelines:read, pipelines:write", "reason": "no longer needed"})
	t = g.at(maya, 6, 9, 40)
	g.add(t, app.DataProducts, "data_product_invite_sent", maya, "",
		fmt.Sprintf(`Invited %s (Acme Partners) to data product %q with read access`, StoryPartner, StoryDataProduct),
		[]app.Target{g.productTarget(StoryDataProduct), g.spaceTarget("Acme Partners"), {Type: "invitee", Name: StoryPartner}},
		map[string]string{"invitee": StoryPartner, "access": "read", "space": "Acme Partners", "expires_in": "7d"})
	t = g.at(ben, 6, 14, 5) // Jordan works on New York time, like Ben
	g.addIP(t, app.DataProducts, "data_product_invite_accepted", app.Anonymous, "198.51.100.77",
		fmt.Sprintf(`%s accepted the invite to data product %q in space "Acme Partners"`, StoryPartner, StoryDataProduct),
		[]app.Target{g.productTarget(StoryDataProduct), g.spaceTarget("Acme Partners"), {Type: "invitee", Name: StoryPartner}},
		map[string]string{"invitee": StoryPartner, "access": "read"})

	// Story 4 and story 2, continued: new sources and pipelines this week.
	t = g.at(daniel, 6, 10, 10)
	kc := conn("Kafka – clickstream")
	kc.born = t
	g.add(t, app.Connections, "connection_created", daniel, "",
		`Created connection "Kafka – clickstream" (Kafka, source) in space "Data Platform"`,
		[]app.Target{g.connTarget(kc.name), g.spaceTarget("Data Platform")},
		map[string]string{"type": "kafka", "direction": "source", "topic": "web.clickstream.v2"})
	g.created(g.at(daniel, 6, 14, 45), daniel, "kafka_clickstream_ingest")
	g.created(g.at(chloe, 5, 10, 30), chloe, "hubspot_contacts_sync")
	g.modified(g.at(daniel, 5, 11, 3), daniel, "kafka_clickstream_ingest",
		`Raised the batch size of pipeline "kafka_clickstream_ingest" from 50,000 to 200,000 messages`,
		map[string]string{"change": "settings", "batch_size": "200000"})
	t = g.at(tomas, 5, 9, 20)
	drr := g.pipeBy["daily_revenue_rollup"]
	drr.sched = append(drr.sched, demoSched{from: t, every: 24 * time.Hour, offset: 3*time.Hour + 30*time.Minute, label: "daily at 03:30 UTC"})
	g.modified(t, tomas, drr.name,
		`Changed the schedule of pipeline "daily_revenue_rollup" from daily at 02:00 UTC to daily at 03:30 UTC, after late Stripe payouts`,
		map[string]string{"change": "schedule", "schedule": "daily at 03:30 UTC", "previous_schedule": "daily at 02:00 UTC"})

	t = g.at(priya, 4, 11, 0)
	pof := g.productBy["Partner Orders Feed"]
	pof.born = t
	g.add(t, app.DataProducts, "data_product_created", priya, "",
		`Created data product "Partner Orders Feed" in space "Acme Partners"`,
		[]app.Target{g.productTarget(pof.name), g.spaceTarget("Acme Partners")}, map[string]string{"owner": "Priya Raman"})
	g.created(t.Add(25*time.Minute), priya, "partner_orders_export")
	g.add(t.Add(40*time.Minute), app.ServiceUsers, "service_user_created", priya, "",
		`Created service user "svc-partner-sync" with role viewer in space "Acme Partners"`,
		[]app.Target{g.serviceTarget("svc-partner-sync"), g.spaceTarget("Acme Partners")}, map[string]string{"role": "viewer"})
	g.add(t.Add(44*time.Minute), app.ServiceUsers, "service_user_permissions_updated", priya, "",
		`Allowed service user "svc-airflow" to run pipelines in space "Acme Partners"`,
		[]app.Target{g.serviceTarget("svc-airflow"), g.spaceTarget("Acme Partners")}, map[string]string{"permission": "pipelines:execute", "space": "Acme Partners"})
	g.modified(g.at(priya, 3, 12, 15), priya, "partner_orders_export",
		`Edited transform step "mask_pii" of pipeline "partner_orders_export" to hash customer emails`,
		map[string]string{"change": "transform", "step": "mask_pii"})
	g.created(g.at(maya, 3, 9, 5), maya, "snowflake_cost_monitor")
	t = g.at(maya, 3, 11, 30)
	ss := g.productBy["Snowflake Spend"]
	ss.born = t
	g.add(t, app.DataProducts, "data_product_created", maya, "",
		`Created data product "Snowflake Spend" in space "Data Platform"`,
		[]app.Target{g.productTarget(ss.name), g.spaceTarget("Data Platform")}, map[string]string{"owner": "Maya Chen"})
	g.add(t.Add(6*time.Minute), app.ServiceUsers, "service_user_permissions_updated", maya, "",
		`Allowed service user "svc-dbt" to publish data product "Snowflake Spend"`,
		[]app.Target{g.serviceTarget("svc-dbt"), g.productTarget(ss.name)}, map[string]string{"permission": "data_products:write"})
	t = g.at(maya, 3, 13, 40)
	g.add(t, app.Users, "user_invited", maya, "",
		"Invited Grace Liu (grace.liu@tessellate.io) to the workspace as viewer",
		[]app.Target{{Type: "user", ID: demoID("usr", "Grace Liu"), Name: "Grace Liu"}}, map[string]string{"email": "grace.liu@tessellate.io", "role": "viewer"})

	// Story 1, the end: the token leaks and is replaced.
	t = g.at(lukas, 2, 10, 14)
	g.add(t, app.APITokens, "token_revoked", lukas, "",
		fmt.Sprintf(`Revoked API token %q (scopes: %s) after its secret appeared in a CI build log`, StoryToken, scopes),
		[]app.Target{g.tokenTarget(StoryToken)}, map[string]string{"scopes": scopes, "reason": "secret exposed in CI build log"})
	t = g.at(daniel, 2, 11, 30)
	g.add(t, app.APITokens, "token_created", daniel, "",
		fmt.Sprintf(`Created API token "github-actions-deploy" (scopes: %s; expires in 30 days)`, scopes),
		[]app.Target{g.tokenTarget("github-actions-deploy")}, map[string]string{"scopes": scopes, "expires_in": "30d"})
	g.serviceKeyRotated(t.Add(5*time.Minute), daniel, "svc-github-actions")
	g.created(g.at(tomas, 2, 15, 50), tomas, "inventory_snapshot")
	g.modified(g.at(tomas, 1, 10, 25), tomas, "inventory_snapshot",
		`Added data quality check "quantity >= 0" to pipeline "inventory_snapshot"`,
		map[string]string{"change": "quality_check", "check": "quantity >= 0"})
	g.modified(g.at(elena, 1, 14, 10), elena, "orders_cdc",
		`Edited transform step "apply_deletes" of pipeline "orders_cdc" to keep soft-deleted rows for 30 days`,
		map[string]string{"change": "transform", "step": "apply_deletes"})
}

// created writes pipeline_created and starts the pipeline's life at t.
func (g *demoGen) created(t time.Time, m *demoMember, name string) {
	p := g.pipeBy[name]
	p.born = t
	p.sched[0].from = t
	p.dest[0].from = t
	g.add(t, app.DataPipelines, "pipeline_created", m, "",
		fmt.Sprintf(`Created pipeline %q (source %q, destination %q, %s)`, p.name, p.source, p.dest[0].name, p.sched[0].label),
		[]app.Target{g.pipeTarget(p.name), g.connTarget(p.source), g.connTarget(p.dest[0].name), g.spaceTarget(p.space)},
		map[string]string{"schedule": p.sched[0].label, "source": p.source, "destination": p.dest[0].name})
}

func (g *demoGen) modified(t time.Time, m *demoMember, name, detail string, meta map[string]string) {
	g.add(t, app.DataPipelines, "pipeline_modified", m, "", detail, []app.Target{g.pipeTarget(name)}, meta)
}

func (g *demoGen) switchDest(t time.Time, m *demoMember, name string) {
	p := g.pipeBy[name]
	from := p.dest[len(p.dest)-1].name
	p.dest = append(p.dest, demoDest{from: t, name: StoryConnection})
	g.add(t, app.DataPipelines, "pipeline_modified", m, "",
		fmt.Sprintf(`Changed the destination of pipeline %q from %q to %q`, name, from, StoryConnection),
		[]app.Target{g.pipeTarget(name), g.connTarget(from), g.connTarget(StoryConnection)},
		map[string]string{"change": "destination", "destination": StoryConnection, "previous_destination": from})
}

func (g *demoGen) serviceKeyRotated(t time.Time, m *demoMember, svc string) {
	g.add(t, app.ServiceUsers, "service_user_key_rotated", m, "",
		fmt.Sprintf(`Rotated the key of service user %q; the old key stays valid for 24 hours`, svc),
		[]app.Target{g.serviceTarget(svc)}, map[string]string{"grace_period": "24h"})
}

// scheduledRuns writes one pipeline_executed per scheduled run, by svc-airflow,
// with an automatic retry after a failure and a data product publish after
// each successful build.
func (g *demoGen) scheduledRuns() {
	failures := []string{
		"upstream connection timed out after 30s",
		"source API rate limit exceeded",
		`schema mismatch: column "discount_code" not found`,
		"warehouse query queued for more than 15 minutes",
		"out of memory in step %q",
	}
	for _, p := range g.pipes {
		for i, s := range p.sched {
			from := s.from
			if from.IsZero() || from.Before(g.start) {
				from = g.start
			}
			end := g.now
			if i+1 < len(p.sched) {
				end = p.sched[i+1].from
			}
			if !p.gone.IsZero() && p.gone.Before(end) {
				end = p.gone
			}
			slot := from.Truncate(s.every).Add(s.offset)
			for slot.Before(from) {
				slot = slot.Add(s.every)
			}
			for ; slot.Before(end); slot = slot.Add(s.every) {
				if p.isPaused(slot) {
					continue
				}
				rows := p.expectedRows(slot, g.rng)
				dur := p.duration(rows, g.rng)
				done := slot.Add(time.Duration(5+g.rng.IntN(40))*time.Second + dur)
				if g.rng.Float64() < 0.03 {
					msg := failures[g.rng.IntN(len(failures))]
					if strings.Contains(msg, "%q") {
						msg = fmt.Sprintf(msg, p.steps[g.rng.IntN(len(p.steps))])
					}
					g.run(done, p, "schedule", "failed", 0, dur, msg, nil)
					done = done.Add(10*time.Minute + dur)
					g.run(done, p, "retry", "succeeded", rows, dur, "", nil)
				} else {
					g.run(done, p, "schedule", "succeeded", rows, dur, "", nil)
				}
				if p.product != "" && (s.every >= 24*time.Hour || slot.Hour() == 0) {
					g.publish(done.Add(time.Duration(20+g.rng.IntN(90))*time.Second), p, rows)
				}
			}
		}
	}
}

// run writes one pipeline_executed; by is nil for the scheduler.
func (g *demoGen) run(t time.Time, p *demoPipeline, trigger, status string, rows int, dur time.Duration, failure string, by *demoMember) {
	dest := p.destAt(t)
	meta := map[string]string{
		"trigger":     trigger,
		"status":      status,
		"duration":    dur.String(),
		"run_id":      fmt.Sprintf("run_%08x", g.rng.Uint32()),
		"destination": dest,
	}
	var detail string
	switch {
	case status == "failed":
		detail = fmt.Sprintf("Pipeline %q failed after %s: %s", p.name, dur, failure)
		meta["error"] = failure
	case trigger == "retry":
		detail = fmt.Sprintf("Pipeline %q succeeded on retry: %s rows in %s", p.name, demoGroup(rows), dur)
	case trigger == "manual":
		detail = fmt.Sprintf("Ran pipeline %q manually: %s rows in %s", p.name, demoGroup(rows), dur)
	default:
		detail = fmt.Sprintf("Pipeline %q ran on schedule: %s rows in %s", p.name, demoGroup(rows), dur)
	}
	if status != "failed" {
		meta["rows"] = strconv.Itoa(rows)
	}
	targets := []app.Target{g.pipeTarget(p.name)}
	if by == nil {
		g.addIP(t, app.DataPipelines, "pipeline_executed", "svc-airflow", "", detail, targets, meta)
		return
	}
	g.add(t, app.DataPipelines, "pipeline_executed", by, "", detail, targets, meta)
}

func (g *demoGen) publish(t time.Time, p *demoPipeline, rows int) {
	dp := g.productBy[p.product]
	if dp.born.After(t) || (!dp.gone.IsZero() && !t.Before(dp.gone)) {
		return
	}
	dp.version++
	g.addIP(t, app.DataProducts, "data_product_published", "svc-dbt", "10.20.4.17",
		fmt.Sprintf("Published version %d of data product %q (%s rows)", dp.version, dp.name, demoGroup(rows)),
		[]app.Target{g.productTarget(dp.name), g.pipeTarget(p.name)},
		map[string]string{"version": strconv.Itoa(dp.version), "rows": strconv.Itoa(rows), "pipeline": p.name})
}

func (p *demoPipeline) isPaused(t time.Time) bool {
	for _, r := range p.paused {
		if !t.Before(r[0]) && t.Before(r[1]) {
			return true
		}
	}
	return false
}

func (p *demoPipeline) destAt(t time.Time) string {
	d := p.dest[0].name
	for _, x := range p.dest {
		if !x.from.After(t) {
			d = x.name
		}
	}
	return d
}

func (p *demoPipeline) alive(t time.Time) bool {
	return !p.born.After(t) && (p.gone.IsZero() || t.Before(p.gone))
}

func (p *demoPipeline) expectedRows(t time.Time, rng *rand.Rand) int {
	f := 0.7 + 0.6*rng.Float64()
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f *= 0.55
	}
	return max(1, int(float64(p.rows)*f))
}

func (p *demoPipeline) duration(rows int, rng *rand.Rand) time.Duration {
	sec := 8 + math.Sqrt(float64(rows))*0.35*(0.8+0.4*rng.Float64())
	return time.Duration(sec) * time.Second
}

// ciDeploys writes pipeline_modified by svc-github-actions for merged pull
// requests, mostly on weekdays in European and American working hours.
func (g *demoGen) ciDeploys() {
	for day := g.start.Truncate(24 * time.Hour); day.Before(g.now); day = day.Add(24 * time.Hour) {
		n := demoPoisson(g.rng, 4.5)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			n = demoPoisson(g.rng, 0.3)
		}
		for range n {
			t := day.Add(time.Duration(8*3600+g.rng.IntN(11*3600)) * time.Second)
			p := g.pickPipeline(t, nil)
			if p == nil {
				continue
			}
			g.pr++
			sha := fmt.Sprintf("%07x", g.rng.Uint32()&0xfffffff)
			g.addIP(t, app.DataPipelines, "pipeline_modified", "svc-github-actions", "192.0.2.23",
				fmt.Sprintf("Deployed pipeline %q from commit %s (PR #%d)", p.name, sha, g.pr),
				[]app.Target{g.pipeTarget(p.name)},
				map[string]string{"change": "deploy", "commit": sha, "branch": "main", "pull_request": strconv.Itoa(g.pr)})
		}
	}
}

// members writes what people do on their working days: a sign-in, then a
// number of actions spread over their local working hours.
func (g *demoGen) members() {
	for _, m := range g.people {
		first := g.start.In(m.tz)
		day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, m.tz)
		last := g.now.In(m.tz)
		lastDay := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, m.tz)
		for ; !day.After(lastDay); day = day.AddDate(0, 0, 1) {
			daysAgo := int(math.Round(lastDay.Sub(day).Hours() / 24))
			if m.leave != [2]int{} && daysAgo <= m.leave[0] && daysAgo >= m.leave[1] {
				continue
			}
			weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
			var n int
			var from, to float64 // local hours
			switch {
			case weekend && g.rng.Float64() < 0.12:
				n = 1 + demoPoisson(g.rng, m.rate*0.25)
				from = 10 + 3*g.rng.Float64()
				to = from + 1 + 3*g.rng.Float64()
			case weekend:
				continue
			case g.rng.Float64() < 0.06: // out sick or a day off
				continue
			default:
				n = demoPoisson(g.rng, m.rate)
				from = 8.5 + 0.6*g.rng.NormFloat64()
				to = from + 8 + 1.5*g.rng.Float64()
			}
			ip := g.dayIP(m, day)
			at := func(h float64) time.Time { return day.Add(time.Duration(h * float64(time.Hour))) }
			signIn := at(from - 0.1*g.rng.Float64())
			if m.active(signIn) {
				g.add(signIn, app.Users, "user_signed_in", m, ip, m.name+" signed in with SSO (Okta)",
					[]app.Target{g.userTarget(m)}, map[string]string{"method": "sso", "provider": "okta", "mfa": "true"})
			}
			if !weekend && g.rng.Float64() < 0.35 { // a second session after a break
				t := at(from + 4 + 2*g.rng.Float64())
				if m.active(t) {
					g.add(t, app.Users, "user_signed_in", m, ip, m.name+" signed in with SSO (Okta)",
						[]app.Target{g.userTarget(m)}, map[string]string{"method": "sso", "provider": "okta", "mfa": "true"})
				}
			}
			for range n {
				h := from + (to-from)*g.rng.Float64()
				if g.rng.Float64() < 0.05 {
					h = 20 + 3*g.rng.Float64() // an evening fix
				}
				t := at(h)
				if m.active(t) {
					g.act(m, t, ip)
				}
			}
		}
	}
}

func (m *demoMember) active(t time.Time) bool {
	return !m.joined.After(t) && (m.left.IsZero() || t.Before(m.left))
}

// dayIP is where a member works from on a given day: mostly the office.
func (g *demoGen) dayIP(m *demoMember, day time.Time) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s/%s", g.seed, m.name, day.Format(time.DateOnly))
	v := h.Sum32() % 100
	switch {
	case v < 70 || len(m.ips) == 1:
		return m.ips[0]
	default:
		return m.ips[1+int(v)%(len(m.ips)-1)]
	}
}

var demoMixes = map[string][]struct {
	action string
	weight float64
}{
	"engineer": {{"pipeline_modified", 40}, {"pipeline_executed", 9}, {"connection_updated", 3}, {"connection_schema_refreshed", 5}, {"data_product_updated", 8}, {"data_product_exported", 3}},
	"lead":     {{"pipeline_modified", 24}, {"pipeline_executed", 5}, {"connection_updated", 3}, {"data_product_updated", 10}, {"space_settings_updated", 1}, {"space_member_added", 0.5}, {"data_product_exported", 3}},
	"analyst":  {{"data_product_updated", 24}, {"data_product_exported", 16}, {"data_product_shared", 1}, {"pipeline_modified", 10}, {"pipeline_executed", 5}, {"connection_schema_refreshed", 1}},
	"admin":    {{"space_settings_updated", 2}, {"space_member_added", 1.5}, {"connection_updated", 2}, {"data_product_updated", 5}, {"data_product_exported", 3}},
	"viewer":   {{"data_product_exported", 1}},
}

// act writes one everyday action by m at t.
func (g *demoGen) act(m *demoMember, t time.Time, ip string) {
	kind := m.kind
	if m.before != "" && t.Before(m.promoted) {
		kind = m.before
	}
	mix := demoMixes[kind]
	w := make([]float64, len(mix))
	for i, a := range mix {
		w[i] = a.weight
	}
	switch mix[demoWeighted(g.rng, w)].action {
	case "pipeline_modified":
		if p := g.pickPipeline(t, m); p != nil {
			g.editPipeline(t, m, ip, p)
		}
	case "pipeline_executed":
		if p := g.pickPipeline(t, m); p != nil {
			rows := p.expectedRows(t, g.rng)
			dur := p.duration(rows, g.rng)
			g.run(t, p, "manual", "succeeded", rows, dur, "", m)
		}
	case "connection_updated":
		if c := g.pickConn(t); c != nil {
			g.editConn(t, m, ip, c)
		}
	case "connection_schema_refreshed":
		if c := g.pickConn(t); c != nil {
			added, changed := g.rng.IntN(4), g.rng.IntN(3)
			found := "no changes"
			if added+changed > 0 {
				found = demoCount(added, "new column") + ", " + demoCount(changed, "changed type")
			}
			g.add(t, app.Connections, "connection_schema_refreshed", m, ip,
				fmt.Sprintf("Refreshed the schema of connection %q: %s", c.name, found),
				[]app.Target{g.connTarget(c.name)}, map[string]string{"new_columns": strconv.Itoa(added), "changed_columns": strconv.Itoa(changed)})
		}
	case "data_product_updated":
		if p := g.pickProduct(t, m); p != nil {
			g.editProduct(t, m, ip, p)
		}
	case "data_product_exported":
		if p := g.pickProduct(t, m); p != nil {
			format := []string{"CSV", "CSV", "Parquet", "XLSX"}[g.rng.IntN(4)]
			rows := min(p.rows, 200+g.rng.IntN(60000))
			g.add(t, app.DataProducts, "data_product_exported", m, ip,
				fmt.Sprintf("Exported data product %q as %s (%s rows)", p.name, format, demoGroup(rows)),
				[]app.Target{g.productTarget(p.name)}, map[string]string{"format": strings.ToLower(format), "rows": strconv.Itoa(rows)})
		}
	case "data_product_shared":
		p := g.pickProduct(t, m)
		s := g.spaces[g.rng.IntN(4)]
		if p != nil && p.space != s.name {
			g.add(t, app.DataProducts, "data_product_shared", m, ip,
				fmt.Sprintf("Shared data product %q with space %q (read-only)", p.name, s.name),
				[]app.Target{g.productTarget(p.name), g.spaceTarget(s.name)}, map[string]string{"access": "read"})
		}
	case "space_settings_updated":
		s := g.spaces[g.rng.IntN(4)]
		change := []string{
			"enabled Slack notifications to #data-alerts",
			"set the default retention of query results to 400 days",
			"edited the space description",
			"required an approval for new data products",
			"turned on column-level lineage",
			"changed the default warehouse to TRANSFORM_WH",
		}[g.rng.IntN(6)]
		g.add(t, app.Spaces, "space_settings_updated", m, ip,
			fmt.Sprintf("Updated settings of space %q: %s", s.name, change),
			[]app.Target{g.spaceTarget(s.name)}, map[string]string{"change": change})
	case "space_member_added":
		s := g.spaces[g.rng.IntN(4)]
		who := g.people[g.rng.IntN(len(g.people))]
		role := []string{"viewer", "editor", "editor"}[g.rng.IntN(3)]
		if who != m && who.active(t) {
			g.add(t, app.Spaces, "space_member_added", m, ip,
				fmt.Sprintf("Added %s to space %q as %s", who.name, s.name, role),
				[]app.Target{g.spaceTarget(s.name), g.userTarget(who)}, map[string]string{"role": role})
		}
	}
}

func (g *demoGen) editPipeline(t time.Time, m *demoMember, ip string, p *demoPipeline) {
	target := []app.Target{g.pipeTarget(p.name)}
	switch r := g.rng.Float64(); {
	case r < 0.62:
		step := p.steps[g.rng.IntN(len(p.steps))]
		g.add(t, app.DataPipelines, "pipeline_modified", m, ip,
			fmt.Sprintf("Edited transform step %q of pipeline %q", step, p.name),
			target, map[string]string{"change": "transform", "step": step})
	case r < 0.77:
		check := []string{"not_null(id)", "unique(id)", "row_count > 0", "freshness < 2h", "accepted_values(status)"}[g.rng.IntN(5)]
		g.add(t, app.DataPipelines, "pipeline_modified", m, ip,
			fmt.Sprintf("Added data quality check %q to pipeline %q", check, p.name),
			target, map[string]string{"change": "quality_check", "check": check})
	case r < 0.86:
		from := 1 + g.rng.IntN(3)
		g.add(t, app.DataPipelines, "pipeline_modified", m, ip,
			fmt.Sprintf("Changed retries of pipeline %q from %d to %d", p.name, from, from+1),
			target, map[string]string{"change": "settings", "retries": strconv.Itoa(from + 1)})
	case r < 0.94:
		g.add(t, app.DataPipelines, "pipeline_modified", m, ip,
			fmt.Sprintf("Updated the description of pipeline %q", p.name),
			target, map[string]string{"change": "description"})
	default:
		mins := []int{30, 45, 60, 90}[g.rng.IntN(4)]
		g.add(t, app.DataPipelines, "pipeline_modified", m, ip,
			fmt.Sprintf("Raised the timeout of pipeline %q to %d minutes", p.name, mins),
			target, map[string]string{"change": "settings", "timeout": strconv.Itoa(mins) + "m"})
	}
}

func (g *demoGen) editConn(t time.Time, m *demoMember, ip string, c *demoConn) {
	target := []app.Target{g.connTarget(c.name)}
	switch r := g.rng.Float64(); {
	case r < 0.15:
		g.add(t, app.Connections, "connection_updated", m, ip,
			fmt.Sprintf("Rotated the credentials of connection %q", c.name),
			target, map[string]string{"change": "credentials"})
	case r < 0.5 && c.dir == "source":
		n := 1 + g.rng.IntN(4)
		g.add(t, app.Connections, "connection_updated", m, ip,
			fmt.Sprintf("Added %s to the sync selection of connection %q", demoCount(n, "table"), c.name),
			target, map[string]string{"change": "tables", "tables_added": strconv.Itoa(n)})
	case r < 0.65 && c.dir == "source":
		every := []string{"15 minutes", "30 minutes", "hour", "6 hours"}[g.rng.IntN(4)]
		g.add(t, app.Connections, "connection_updated", m, ip,
			fmt.Sprintf("Changed the sync frequency of connection %q to every %s", c.name, every),
			target, map[string]string{"change": "sync_frequency", "every": every})
	case r < 0.35 && c.dir == "destination":
		schema := []string{"analytics", "staging", "raw", "marts"}[g.rng.IntN(4)]
		g.add(t, app.Connections, "connection_updated", m, ip,
			fmt.Sprintf("Changed the default schema of connection %q to %q", c.name, schema),
			target, map[string]string{"change": "default_schema", "schema": schema})
	default:
		g.add(t, app.Connections, "connection_updated", m, ip,
			fmt.Sprintf("Edited the description of connection %q", c.name),
			target, map[string]string{"change": "description"})
	}
}

func (g *demoGen) editProduct(t time.Time, m *demoMember, ip string, p *demoProduct) {
	target := []app.Target{g.productTarget(p.name)}
	switch r := g.rng.Float64(); {
	case r < 0.35:
		g.add(t, app.DataProducts, "data_product_updated", m, ip,
			fmt.Sprintf("Edited the description of data product %q", p.name),
			target, map[string]string{"change": "description"})
	case r < 0.6:
		col := p.columns[g.rng.IntN(len(p.columns))]
		g.add(t, app.DataProducts, "data_product_updated", m, ip,
			fmt.Sprintf("Documented column %q of data product %q", col, p.name),
			target, map[string]string{"change": "column_docs", "column": col})
	case r < 0.8:
		tag := []string{"certified", "pii", "finance", "gold", "tier-1"}[g.rng.IntN(5)]
		g.add(t, app.DataProducts, "data_product_updated", m, ip,
			fmt.Sprintf("Added tag %q to data product %q", tag, p.name),
			target, map[string]string{"change": "tags", "tag": tag})
	default:
		h := 5 + g.rng.IntN(5)
		g.add(t, app.DataProducts, "data_product_updated", m, ip,
			fmt.Sprintf("Set the freshness target of data product %q to %02d:00 UTC", p.name, h),
			target, map[string]string{"change": "sla", "fresh_by": fmt.Sprintf("%02d:00 UTC", h)})
	}
}

// pickPipeline chooses a pipeline alive at t that m (nil for CI) is likely to
// touch: one in their spaces, or a new one.
func (g *demoGen) pickPipeline(t time.Time, m *demoMember) *demoPipeline {
	var live []*demoPipeline
	var w []float64
	for _, p := range g.pipes {
		if !p.alive(t) {
			continue
		}
		weight := 1.0
		if m != nil && slices.Contains(m.home, p.space) {
			weight = 5
		}
		if age := t.Sub(p.born); !p.born.IsZero() && age < 3*24*time.Hour {
			weight *= 2
		}
		live = append(live, p)
		w = append(w, weight)
	}
	if len(live) == 0 {
		return nil
	}
	return live[demoWeighted(g.rng, w)]
}

func (g *demoGen) pickConn(t time.Time) *demoConn {
	var live []*demoConn
	for _, c := range g.conns {
		if !c.born.After(t) && (c.gone.IsZero() || t.Before(c.gone)) && c.space != "Northwind Logistics" {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return live[g.rng.IntN(len(live))]
}

func (g *demoGen) pickProduct(t time.Time, m *demoMember) *demoProduct {
	var live []*demoProduct
	var w []float64
	for _, p := range g.products {
		if !p.born.After(t) && (p.gone.IsZero() || t.Before(p.gone)) {
			live = append(live, p)
			if slices.Contains(m.home, p.space) {
				w = append(w, 4)
			} else {
				w = append(w, 1)
			}
		}
	}
	if len(live) == 0 {
		return nil
	}
	return live[demoWeighted(g.rng, w)]
}

// add appends an event by a member; events outside the window are dropped.
func (g *demoGen) add(t time.Time, ns app.Namespace, action string, m *demoMember, ip, detail string, targets []app.Target, meta map[string]string) {
	if ip == "" {
		l := t.In(m.tz)
		ip = g.dayIP(m, time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, m.tz))
	}
	g.addIP(t, ns, action, m.name, ip, detail, targets, meta)
}

func (g *demoGen) addIP(t time.Time, ns app.Namespace, action, actor, ip, detail string, targets []app.Target, meta map[string]string) {
	if t.Before(g.start) || t.After(g.now) {
		return
	}
	g.events = append(g.events, app.Event{
		Timestamp: t.UTC(),
		Namespace: ns,
		Action:    action,
		Detail:    detail,
		Actor:     actor,
		Targets:   targets,
		Metadata:  meta,
		IP:        ip,
	})
}

func (g *demoGen) userTarget(m *demoMember) app.Target {
	return app.Target{Type: "user", ID: demoID("usr", m.name), Name: m.name}
}
func (g *demoGen) tokenTarget(name string) app.Target {
	return app.Target{Type: "api_token", ID: demoID("tok", name), Name: name}
}
func (g *demoGen) connTarget(name string) app.Target {
	return app.Target{Type: "connection", ID: demoID("conn", name), Name: name}
}
func (g *demoGen) pipeTarget(name string) app.Target {
	return app.Target{Type: "pipeline", ID: demoID("pl", name), Name: name}
}
func (g *demoGen) productTarget(name string) app.Target {
	return app.Target{Type: "data_product", ID: demoID("dp", name), Name: name}
}
func (g *demoGen) spaceTarget(name string) app.Target {
	return app.Target{Type: "space", ID: demoID("sp", name), Name: name}
}
func (g *demoGen) serviceTarget(name string) app.Target {
	return app.Target{Type: "service_user", ID: demoID("su", name), Name: name}
}

// demoID is a stable object ID derived from its name, the same for every seed.
func demoID(prefix, name string) string {
	h := fnv.New64a()
	h.Write([]byte(prefix + "/" + name))
	return fmt.Sprintf("%s_%012x", prefix, h.Sum64()&0xffffffffffff)
}

// demoEmail turns "Tomás Ortega" into "tomas.ortega@tessellate.io".
func demoEmail(name string) string {
	r := strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", " ", ".")
	return strings.ToLower(r.Replace(name)) + "@tessellate.io"
}

// demoCount writes "1 table" or "3 tables".
func demoCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// demoGroup writes 12418 as "12,418".
func demoGroup(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func demoPoisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func demoWeighted(rng *rand.Rand, w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	r := rng.Float64() * sum
	for i, x := range w {
		if r < x {
			return i
		}
		r -= x
	}
	return len(w) - 1
}
