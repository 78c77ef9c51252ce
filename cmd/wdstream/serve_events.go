package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/serve"
)

// serveEventFlags are serve's flags for hearing of publishes at once
// rather than at the next --poll (serve/events.go): the publisher's kafka
// hooks' topic and its webhooks.
type serveEventFlags struct {
	topic      string
	webhookEnv string
}

func (f *serveEventFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.topic, "model-events", serve.DefaultEventsTopic,
		"with --brokers: topic of the publisher's kafka hooks, read from its end; a publish of --model is loaded at once ('': poll only)")
	fs.StringVar(&f.webhookEnv, "webhook-secret-env", "",
		"environment variable holding the secret of the publisher's webhook (its secret_env): enables POST "+serve.WebhookPath+", which refuses a request without its X-Wdstream-Signature")
}

// start mounts the webhook receiver on mux and starts following the
// topic (with brokers) in wg until ctx is done.
func (f *serveEventFlags) start(ctx context.Context, srv *serve.Server, brokers []string, auth kafka.Auth, mux *http.ServeMux, wg *sync.WaitGroup) error {
	if f.webhookEnv != "" {
		secret := os.Getenv(f.webhookEnv)
		if secret == "" {
			return fmt.Errorf("--webhook-secret-env %s: the variable is not set or empty", f.webhookEnv)
		}
		h, err := srv.WebhookHandler([]byte(secret))
		if err != nil {
			return err
		}
		mux.Handle("POST "+serve.WebhookPath, h)
	}
	if len(brokers) > 0 && f.topic != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = srv.FollowEvents(ctx, serve.EventsConfig{Brokers: brokers, Auth: auth, Topic: f.topic})
		}()
	}
	return nil
}
