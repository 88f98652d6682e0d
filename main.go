// Command strata is the Strata binary: `strata serve` runs the GraphQL
// engine, `strata operator` runs the Kubernetes controller manager.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/strata-dev/strata/controllers"
	"github.com/strata-dev/strata/controllers/tenantapi"
	"github.com/strata-dev/strata/engine"
	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code. Every failure is
// one line on stderr, never a stack trace.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") && len(args) > 0 {
		// cobra's own suggestion spans several lines; keep errors to one.
		err = fmt.Errorf("unknown command %q", args[0])
		if s := root.SuggestionsFor(args[0]); len(s) > 0 {
			err = fmt.Errorf("%w (did you mean %s?)", err, strings.Join(s, " or "))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", cmd.CommandPath(), err)
		return 1
	}
	return 0
}

func newRootCmd(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "strata",
		Short:         "GraphQL over Postgres, compatible with Hasura v2, and its Kubernetes operator",
		SilenceUsage:  true,
		SilenceErrors: true,
		// run() prints its own one-line suggestion.
		DisableSuggestions: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newServeCmd(stdout), newOperatorCmd(stdout), newTokenCmd(stdout), newVersionCmd(stdout))
	return root
}

func newServeCmd(stdout io.Writer) *cobra.Command {
	cfg := &config.Config{}
	var binder *config.Binder
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the GraphQL engine (settings from flags or HASURA_GRAPHQL_* variables)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := binder.Finish(os.LookupEnv); err != nil {
				return err
			}
			log := newLogger(stdout, cfg.LogLevel)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return engine.Run(ctx, cfg, log)
		},
	}
	binder = config.Bind(cmd.Flags(), cfg)
	return cmd
}

func newOperatorCmd(stdout io.Writer) *cobra.Command {
	var opts controllers.Options
	var logLevel, tenantRegions, tenantDatabaseURL string
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Run the Kubernetes controller manager for Project, Source and Metadata",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("invalid log level %q: use debug, info, warn or error", logLevel)
			}
			log := newLogger(stdout, level)
			logger := logr.FromSlogHandler(log.Handler())
			ctrl.SetLogger(logger)
			klog.SetLogger(logger)

			regions, err := tenantapi.ParseRegions(tenantRegions)
			if err != nil {
				return fmt.Errorf("--tenant-regions: %w", err)
			}
			opts.TenantAPI.Regions = regions
			if tenantDatabaseURL == "" {
				tenantDatabaseURL = os.Getenv("STRATA_TENANT_DATABASE_URL")
			}
			if tenantDatabaseURL != "" {
				opts.TenantAPI.Databases = tenantapi.Postgres{AdminURL: tenantDatabaseURL}
			}

			restCfg, err := ctrl.GetConfig()
			if err != nil {
				return fmt.Errorf("cannot find a Kubernetes API server (in-cluster config or KUBECONFIG): %w", err)
			}
			mgr, err := controllers.NewManager(restCfg, opts)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log.Info("starting operator", "version", version.Version)
			if err := mgr.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "address of the metrics endpoint; 0 disables it")
	f.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect a leader so only one replica reconciles")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the pod's)")
	f.StringVar(&opts.EngineImage, "engine-image", os.Getenv("STRATA_ENGINE_IMAGE"), "image of engines whose Project names none (env STRATA_ENGINE_IMAGE; the operator's own image)")
	f.DurationVar(&opts.Resync, "resync", time.Minute, "how often settled Sources and Metadata are checked for engine health and drift")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&opts.TenantAPI.BindAddress, "tenant-api-bind-address", ":8082", "address of the tenant API (POST /v1/graphql); 0 disables it")
	f.StringVar(&opts.TenantAPI.Namespace, "tenant-namespace", "strata-tenants", "namespace of the tenants' Projects, Secrets, Sources and job records (created if missing)")
	f.StringVar(&tenantRegions, "tenant-regions", "", "cloud/region pairs tenants may be created in, comma-separated (e.g. aws/us-east-1,gcp/europe-west1); empty accepts any")
	f.StringVar(&tenantDatabaseURL, "tenant-database-url", "", "admin URL of the Postgres server that gets one database per tenant (default: env STRATA_TENANT_DATABASE_URL, which keeps it out of the pod spec)")
	f.StringVar(&opts.TenantAPI.GitBaseURL, "git-base-url", "https://github.com", "base URL of preview apps' repositories: <base>/<owner>/<repo>.git")
	f.StringVar(&opts.TenantAPI.TokenNamespace, "tenant-api-token-namespace", operatorNamespace(), "namespace of the tenant API's token Secret: the operator's own (POD_NAMESPACE or its service account's)")
	return cmd
}

// operatorNamespace is the namespace the operator runs in: POD_NAMESPACE
// (the downward API), the service account's namespace, or strata-system.
func operatorNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b))
	}
	return tenantapi.DefaultTokenNamespace
}

// newTokenCmd manages the tenant API's personal access tokens in the
// cluster the kubeconfig points at.
func newTokenCmd(stdout io.Writer) *cobra.Command {
	var namespace string
	kube := func() (client.Client, error) {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("cannot find a Kubernetes API server (KUBECONFIG or in-cluster config): %w", err)
		}
		return client.New(cfg, client.Options{Scheme: controllers.Scheme})
	}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, revoke and list the tenant API's personal access tokens (Authorization: pat <token>)",
		Args:  cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&namespace, "namespace", tenantapi.DefaultTokenNamespace, "namespace of the operator, where the token Secret lives")

	var createName string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print it (only the token's salted hash is stored: it is shown this once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kube()
			if err != nil {
				return err
			}
			token, err := tenantapi.CreateToken(cmd.Context(), c, namespace, createName)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, token)
			return nil
		},
	}
	create.Flags().StringVar(&createName, "name", "", "name of the token (required)")
	_ = create.MarkFlagRequired("name")

	var revokeName string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a token: requests carrying it are refused from then on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kube()
			if err != nil {
				return err
			}
			if err := tenantapi.RevokeToken(cmd.Context(), c, namespace, revokeName); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "token %q revoked\n", revokeName)
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeName, "name", "", "name of the token (required)")
	_ = revoke.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the tokens by name and creation time (never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kube()
			if err != nil {
				return err
			}
			tokens, err := tenantapi.ListTokens(cmd.Context(), c, namespace)
			if err != nil {
				return err
			}
			for _, t := range tokens {
				fmt.Fprintf(stdout, "%s\t%s\n", t.Name, t.CreatedAt.Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.AddCommand(create, revoke, list)
	return cmd
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(stdout, "strata %s (Hasura %s compatible; %s %s/%s)\n", version.Version, version.Hasura, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

// newLogger writes JSON lines, one object per event, as Hasura's logs are.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
