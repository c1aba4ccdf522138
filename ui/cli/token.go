package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"auditlog/app"
)

func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"token: say create, list, regenerate or revoke"}
	}
	sub, args := args[0], args[1:]
	if isHelp(sub) {
		sub, args = "create", []string{sub}
	}
	fs, data := m.flagSet("token "+sub, "token create --label L [--scopes ingest,read,admin] [--expires 2027-01-31|90d] [--owner SERVICE_USER] | token list | token regenerate ID | token revoke ID",
		"Create, list, regenerate or revoke the API tokens other systems send and read events with.")
	label := fs.String("label", "", "what the token is for, e.g. ci-deploy")
	scopes := fs.String("scopes", "ingest", "comma-separated scopes: ingest, read, admin")
	expires := fs.String("expires", "", "when the token stops working: a date (valid through that day in the workspace's timezone) or a number of days such as 90d; default never")
	owner := fs.String("owner", "", "the service user the token acts for, by name or id (Settings → Service Users)")
	pos, err := m.parse(fs, args)
	if err != nil {
		return err
	}
	var sc []app.Scope
	if (sub == "create" || sub == "list") && len(pos) > 0 {
		return usageError{fmt.Sprintf("token %s takes no arguments, but was given %q (a list of scopes is one word: --scopes ingest,read)", sub, strings.Join(pos, " "))}
	}
	switch sub {
	case "create":
		if sc, err = app.ParseScopes(*scopes); err != nil {
			return err
		}
		if strings.TrimSpace(*label) == "" {
			return usageError{"token create: --label is required, e.g. --label ci-deploy"}
		}
	case "list":
	case "revoke", "regenerate":
		if len(pos) != 1 {
			return usageError{"token " + sub + ": give the token's ID (see auditlog token list)"}
		}
	default:
		return usageError{fmt.Sprintf("token: unknown subcommand %q (create, list, regenerate or revoke)", sub)}
	}
	if *expires != "" { // a mistyped flag is told before anything is opened
		if _, err := parseExpiry(*expires, time.Now(), time.UTC); err != nil {
			return err
		}
	}
	open := m.openExisting // only a new token may be the first thing in a new log
	if sub == "create" {
		open = m.open
	}
	b, err := open(*data, false)
	if err != nil {
		return err
	}
	// Days and times are the workspace's, as on the page.
	loc, err := b.Location(ctx)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		var expiresAt *time.Time
		if *expires != "" {
			t, err := parseExpiry(*expires, time.Now(), loc)
			if err != nil {
				return err
			}
			expiresAt = &t
		}
		secret, tok, err := b.CreateToken(ctx, app.TokenSpec{Label: *label, Scopes: sc, ExpiresAt: expiresAt, Owner: *owner})
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "Created token %s (%s, %s) with scopes %s. Keep the secret below: it is not shown again.\n", tok.ID, tok.Label, tok.Fingerprint, scopeNames(tok.Scopes))
		fmt.Fprintln(m.Stdout, secret)
	case "regenerate":
		secret, tok, err := b.RegenerateToken(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "Regenerated token %s (%s, now %s): the old secret no longer works. Keep the secret below: it is not shown again.\n", tok.ID, tok.Label, tok.Fingerprint)
		fmt.Fprintln(m.Stdout, secret)
	case "list":
		toks, err := b.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tSCOPES\tSTARTS WITH\tFINGERPRINT\tOWNER\tCREATED\tBY\tLAST USED\tEXPIRES")
		for _, t := range toks {
			owner, used, exp := "-", "never", "never"
			if t.OwnerName != "" {
				owner = t.OwnerName
			}
			if t.LastUsedAt != nil {
				used = t.LastUsedAt.In(loc).Format("2006-01-02 15:04")
			}
			if t.ExpiresAt != nil {
				exp = t.ExpiresAt.In(loc).Format("2006-01-02 15:04")
				if day, ok := app.ValidThrough(*t.ExpiresAt, loc); ok {
					exp = "through " + day // as --expires took it
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Label, scopeNames(t.Scopes), t.Hint, t.Fingerprint, owner, t.CreatedAt.In(loc).Format("2006-01-02 15:04"), t.CreatedBy, used, exp)
		}
		return tw.Flush()
	case "revoke":
		tok, err := b.RevokeToken(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Revoked token %s (%s)\n", tok.ID, tok.Label)
	}
	return nil
}

// scopeNames lists scopes as --scopes takes them.
func scopeNames(scopes []app.Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ",")
}

// parseExpiry reads --expires: a date (the token works through that day, in
// loc, the workspace's zone) or a number of days from now, such as 90d.
func parseExpiry(s string, now time.Time, loc *time.Location) (time.Time, error) {
	bad := usageError{fmt.Sprintf("--expires %q: use a date such as 2027-01-31 or days such as 90d", s)}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3650 {
			return time.Time{}, bad
		}
		return now.AddDate(0, 0, n), nil
	}
	end, err := app.ParseDayEnd(s, loc) // valid through that day
	if err != nil {
		return time.Time{}, bad
	}
	return end, nil
}
