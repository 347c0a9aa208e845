package main

import "context"

// Static findings in a file with no leaked goroutine: --with-static leaves them out.
func detached(ctx context.Context) {
	ctx, _ = context.WithCancel(ctx)
	_ = ctx
	go func() { select {} }()
}
