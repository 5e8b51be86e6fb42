package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/topology"
)

type submitOptions struct {
	clientFlags
	topologyFlags
	configFile string
	inactive   bool
	dryRun     bool
	name       string
	goBinary   string
}

func newSubmitCmd(deps *Options) *cobra.Command {
	var o submitOptions
	cmd := &cobra.Command{
		Use: "submit TOPOLOGY",
		// Storm submits with `storm jar x.jar ...Flux --remote topology.yaml`.
		SuggestFor: []string{"jar"},
		Short:      "Submit a topology to the cluster",
		Long: `Submit a topology to nimbus: a YAML file (native or Flux), or a directory
holding topology.yaml and resources/. The resources directory is packaged and
sent along; supervisors unpack it where the topology's shell components run.
The definition is validated here first, then again by nimbus.`,
		Example: `  squall submit examples/wordcount
  squall submit --inactive -c topology.workers=4 --filter prod.properties flux.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), deps, args[0], cmd)
		},
	}
	f := cmd.Flags()
	o.topologyFlags.register(f)
	o.clientFlags.registerNimbus(f)
	f.StringVar(&o.configFile, "config", "", "client configuration `file` (default ~/.squall/squall.yaml)")
	f.BoolVar(&o.inactive, "inactive", false, "submit the topology deactivated")
	f.BoolVar(&o.dryRun, "dry-run", false, "validate here and on nimbus, submit nothing")
	f.StringVar(&o.name, "name", "", "submit under this name instead of the definition's")
	f.StringVar(&o.goBinary, "go-binary", "", "send this executable with the topology's Go components (default: this program, when it is not the stock squall)")
	return cmd
}

func (o *submitOptions) run(ctx context.Context, deps *Options, path string, cmd *cobra.Command) error {
	o.clientFlags.configFlags = configFlags{file: o.configFile, values: o.conf}
	conf, err := o.clientConfig()
	if err != nil {
		return err
	}
	src, err := locateTopology(path)
	if err != nil {
		return err
	}
	req, err := o.request(src, deps.Registry)
	if err != nil {
		return err
	}
	// Validate here first: the same loading nimbus and the workers do.
	t, err := submission.Load(req, deps.Registry, src.resources)
	if err != nil {
		return err
	}
	warnLint(cmd.ErrOrStderr(), src, o.topologyFlags, deps.Registry)
	u := &api.Upload{Request: req}
	// The package and the Go binary are streamed from files, whatever
	// their size.
	pkg, err := os.CreateTemp("", "squall-package-")
	if err != nil {
		return err
	}
	defer os.Remove(pkg.Name())
	defer pkg.Close()
	if err := tarball.Create(pkg, src.resources); err != nil {
		return err
	}
	if u.Package, err = section(pkg); err != nil {
		return err
	}
	bin := o.goBinary
	if bin == "" && deps.ownBinary {
		if bin, err = os.Executable(); err != nil {
			return err
		}
	}
	if bin != "" {
		f, err := os.Open(bin)
		if err != nil {
			return fmt.Errorf("--go-binary: %w", err)
		}
		defer f.Close()
		if u.GoBinary, err = section(f); err != nil {
			return fmt.Errorf("--go-binary: %w", err)
		}
		// nimbus never runs the binary: it schedules the topology as this
		// program loaded it, and checks the binary is the one meant.
		if err := describeBinary(req, t, f); err != nil {
			return fmt.Errorf("--go-binary: %w", err)
		}
	}
	var resp *api.SubmitTopologyResponse
	err = o.call(ctx, conf, func(ctx context.Context, c api.NimbusClient) error {
		resp, err = api.SendUpload(ctx, c, u)
		return err
	})
	if err != nil {
		if u.Package != nil && strings.HasPrefix(status.Convert(err).Message(), "package:") {
			// Say what was packaged: a topology file's whole directory is,
			// when it has no resources/ beside it.
			return fmt.Errorf("submit %s: nimbus refused the package of %s (%d bytes): %w", t.Name, src.resources, u.Package.Size(), err)
		}
		return fmt.Errorf("submit %s: %w", t.Name, err)
	}
	out := cmd.OutOrStdout()
	if o.dryRun {
		fmt.Fprintf(out, "Topology %s is valid; nothing was submitted (--dry-run)\n", resp.GetTopologyName())
	} else {
		fmt.Fprintf(out, "Submitted topology %s as %s\n", resp.GetTopologyName(), resp.GetTopologyId())
	}
	if info := resp.GetSchedulerInfo(); info != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", resp.GetTopologyName(), info)
	}
	return nil
}

// section returns a reader of f's whole content, nil when it is empty.
func section(f *os.File) (*io.SectionReader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, nil
	}
	return io.NewSectionReader(f, 0, fi.Size()), nil
}

// request builds the submission: definition and options, without the
// package and Go binary, which go beside it.
func (o *submitOptions) request(src topologySource, reg *topology.Registry) (*api.SubmitTopologyRequest, error) {
	def, err := os.ReadFile(src.file)
	if err != nil {
		return nil, err
	}
	// Files included by path are sent as squall local reads them, from
	// beside the definition: they need not be in resources/.
	opts, err := o.loadOptions(src, reg)
	if err != nil {
		return nil, err
	}
	included, err := topology.IncludedFiles(src.file, def, opts)
	if err != nil {
		return nil, err
	}
	req := &api.SubmitTopologyRequest{
		Topology:     string(def),
		TopologyFile: src.file,
		Inactive:     o.inactive,
		EnvFilter:    o.envFilter,
		Name:         o.name,
		DryRun:       o.dryRun,
	}
	for name, b := range included {
		if req.Includes == nil {
			req.Includes = map[string]string{}
		}
		req.Includes[name] = string(b)
	}
	if o.filter != "" {
		props, err := os.ReadFile(o.filter)
		if err != nil {
			return nil, fmt.Errorf("--filter: %w", err)
		}
		req.Properties = string(props)
	}
	if o.envFilter {
		req.Environment = map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				req.Environment[k] = v
			}
		}
	}
	overrides, err := o.overrides()
	if err != nil {
		return nil, err
	}
	if len(overrides) > 0 {
		if req.Config, err = structpb.NewStruct(map[string]any(overrides)); err != nil {
			return nil, fmt.Errorf("-c: %w", err)
		}
	}
	return req, nil
}

// describeBinary sets the outline and the SHA-256 of the Go binary f that
// goes with req, whose topology t this program loaded.
func describeBinary(req *api.SubmitTopologyRequest, t *topology.Topology, f *os.File) error {
	outline, err := json.Marshal(submission.NewOutline(t))
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		return err
	}
	req.GoBinaryOutline, req.GoBinarySha256 = string(outline), hex.EncodeToString(h.Sum(nil))
	return nil
}
