package app

import (
	"context"
	"encoding/json"
	"fmt"
)

// readStates reads every piece of state of one kind, each a JSON value of
// T, in the store's key order, with the keys it is kept under. what names
// the kind in an error: one that does not read is the store's fault.
func readStates[T any](ctx context.Context, st Store, kind StateKind, what string) ([]T, []string, error) {
	all, err := st.States(ctx, kind)
	if err != nil {
		return nil, nil, err
	}
	values, keys := make([]T, len(all)), make([]string, len(all))
	for i, sv := range all {
		if err := json.Unmarshal(sv.Value, &values[i]); err != nil {
			return nil, nil, fmt.Errorf("store: %s is unreadable: %w", what, err)
		}
		keys[i] = sv.Key
	}
	return values, keys, nil
}
