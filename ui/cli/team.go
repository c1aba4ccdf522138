package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"auditlog/app"
	"auditlog/ui"

	"golang.org/x/term"
)

// listFlag is a flag that may be given several times or as a comma list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if strings.Trim(v, ", \t") == "" {
		return errors.New("is empty; give a value")
	}
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// terminalPrompt asks on the terminal, without echoing secrets; nil when
// standard input is not a terminal (a service, a pipe), where the owner is
// set up through a link instead.
func terminalPrompt() func(question string, secret bool) (string, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	in := bufio.NewReader(os.Stdin)
	return func(question string, secret bool) (string, error) {
		fmt.Fprint(os.Stderr, question)
		if secret {
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return string(b), err
		}
		line, err := in.ReadString('\n')
		return strings.TrimRight(line, "\r\n"), err
	}
}

// ask puts a question on the terminal until ctx ends (Ctrl-C): the
// question cannot be interrupted, so it is left unanswered, and a terminal
// a password question turned its echo off for gets it back.
func (m *Main) ask(ctx context.Context, question string, secret bool) (string, error) {
	type answer struct {
		text string
		err  error
	}
	fd := int(os.Stdin.Fd())
	state, stateErr := term.GetState(fd)
	got := make(chan answer, 1)
	go func() {
		text, err := m.Prompt(question, secret)
		got <- answer{text, err}
	}()
	select {
	case a := <-got:
		return a.text, a.err
	case <-ctx.Done():
		if stateErr == nil {
			term.Restore(fd, state)
		}
		fmt.Fprintln(m.Stderr)
		return "", ctx.Err()
	}
}

// setUpOwner makes sure a server in team mode has an owner: asked on the
// terminal when there is one, else through a one-time link printed here.
func (m *Main) setUpOwner(ctx context.Context, srv *ui.Server, base string) error {
	team := srv.Members()
	if _, ok, err := team.Owner(ctx); err != nil || ok {
		return err
	}
	if m.Prompt == nil {
		fmt.Fprintf(m.Stdout, "No owner yet. To set the owner's name, email and password, open (once):\n  %s\n", srv.SetupURL(base))
		return nil
	}
	fmt.Fprintln(m.Stderr, "Team mode: members sign in with a password. Set up the owner of this workspace (you).")
	for tries := 0; ; tries++ {
		name, err := m.ask(ctx, "Name: ", false)
		if err != nil {
			return err
		}
		email, err := m.ask(ctx, "Email: ", false)
		if err != nil {
			return err
		}
		pw, err := m.ask(ctx, fmt.Sprintf("Password (at least %d characters): ", app.MinPassword), true)
		if err != nil {
			return err
		}
		again, err := m.ask(ctx, "Password again: ", true)
		if err != nil {
			return err
		}
		if pw != again {
			err = app.FieldErrorf("password", "the two passwords differ")
		} else {
			var owner app.Member
			if owner, err = team.SetUpOwner(ctx, name, email, pw); err == nil {
				fmt.Fprintf(m.Stderr, "%s is the owner; sign in at %s%s\n", owner.Name, strings.TrimSuffix(base, "/"), ui.SignInPath)
				return nil
			}
		}
		if app.ErrorCode(err) != app.EINVALID || tries >= 4 {
			return err
		}
		fmt.Fprintf(m.Stderr, "%s; try again.\n", app.ErrorMessage(err))
	}
}
