package adapters

import (
	"path/filepath"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
)

// transcriptsDirs hold the transcripts every adapter must replay: the
// protocol's, and those of squall's state extension.
var transcriptsDirs = []string{
	filepath.Join("..", "multilang", "testdata", "transcripts"),
	filepath.Join("..", "multilang", "testdata", "transcripts", "state"),
}

// TestConformance replays every transcript, in each wire format, against
// each language's interpreter running the reference component it names,
// with the adapters installed by Install.
func TestConformance(t *testing.T) {
	var ts []*transcript.Transcript
	for _, dir := range transcriptsDirs {
		dts, err := transcript.ParseDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(dts) == 0 {
			t.Fatalf("no transcripts in %s", dir)
		}
		ts = append(ts, dts...)
	}
	env := installAdapters(t)
	for _, l := range languages {
		t.Run(l.name, func(t *testing.T) {
			interpreter := transcript.Interpreter(t, l.interpreter)
			for _, ser := range transcript.Serializers {
				t.Run(ser, func(t *testing.T) {
					env := serializerEnv(t, l, interpreter, ser, env)
					for _, tr := range ts {
						t.Run(tr.Name, func(t *testing.T) {
							t.Parallel()
							transcript.Replay(t, tr, transcript.Child{
								Argv:       []string{interpreter, l.component(t, tr.Component)},
								Env:        env,
								Serializer: ser,
							})
						})
					}
				})
			}
		})
	}
}
