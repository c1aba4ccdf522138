package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"auditlog/app"
)

func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"token: say create, list or revoke"}
	}
	sub, args := args[0], args[1:]
	if isHelp(sub) {
		sub, args = "create", []string{sub}
	}
	fs, data := m.flagSet("token "+sub, "token create --label L [--scopes ingest,read,admin] | token list | token revoke ID",
		"Create, list or revoke the API tokens other systems send and read events with.")
	label := fs.String("label", "", "what the token is for, e.g. ci-deploy")
	scopes := fs.String("scopes", "ingest", "comma-separated scopes: ingest, read, admin")
	pos, err := m.parse(fs, args)
	if err != nil {
		return err
	}
	var sc []app.Scope
	switch sub {
	case "create":
		if sc, err = app.ParseScopes(*scopes); err != nil {
			return err
		}
		if strings.TrimSpace(*label) == "" {
			return usageError{"token create: --label is required, e.g. --label ci-deploy"}
		}
	case "list":
	case "revoke":
		if len(pos) != 1 {
			return usageError{"token revoke: give the token's ID (see auditlog token list)"}
		}
	default:
		return usageError{fmt.Sprintf("token: unknown subcommand %q (create, list or revoke)", sub)}
	}
	b, err := m.open(*data, false)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		secret, tok, err := b.CreateToken(ctx, *label, sc)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "Created token %s (%s) with scopes %s. Keep the secret below: it is not shown again.\n", tok.ID, tok.Label, *scopes)
		fmt.Fprintln(m.Stdout, secret)
	case "list":
		toks, err := b.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tSCOPES\tSTARTS WITH\tCREATED\tBY")
		for _, t := range toks {
			names := make([]string, len(t.Scopes))
			for i, s := range t.Scopes {
				names[i] = string(s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\n", t.ID, t.Label, strings.Join(names, ","), t.Hint, t.CreatedAt.Local().Format("2006-01-02 15:04"), t.CreatedBy)
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
