// Package kubetest runs a real kube-apiserver and etcd (envtest) with
// Strata's CRDs installed, for controller and CRD tests.
//
// The binaries come from KUBEBUILDER_ASSETS, or else from
// hack/setup-envtest.sh, which builds them from source once and caches them
// under bin/k8s.
package kubetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/strata-dev/strata/controllers"
)

// Env is a running API server with a client for it.
type Env struct {
	Config *rest.Config
	Client client.Client
	env    *envtest.Environment
}

// Start brings up etcd and kube-apiserver with the CRDs from
// config/crd/bases installed.
func Start() (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := assetsDir(root)
	if err != nil {
		return nil, err
	}
	te := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	// envtest's default Service range is a /24: 254 Services. Fleet tests
	// create more (one per Project).
	te.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := te.Start()
	if err != nil {
		return nil, fmt.Errorf("kubetest: start envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: controllers.Scheme})
	if err != nil {
		_ = te.Stop()
		return nil, err
	}
	return &Env{Config: cfg, Client: c, env: te}, nil
}

// Main runs a test package against one API server, started before its
// tests and stopped after them: call it from TestMain with the package's
// *Env variable.
//
//	var env *kubetest.Env
//	func TestMain(m *testing.M) { kubetest.Main(m, &env) }
func Main(m *testing.M, env **Env) { os.Exit(Run(env, m.Run)) }

// Run is Main for a TestMain that sets up more around the tests: it starts
// the API server into *env, calls run (m.Run or a wrapper of it) and
// returns its code once the server is stopped.
func Run(env **Env, run func() int) int {
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*env = e
	code := run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "kubetest: stop:", err)
	}
	return code
}

// Stop shuts the API server and etcd down.
func (e *Env) Stop() error { return e.env.Stop() }

// RepoRoot is the directory holding go.mod, found from the working
// directory (go test runs in the package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kubetest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

func assetsDir(root string) (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(root, "hack", "setup-envtest.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kubetest: hack/setup-envtest.sh: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}
