package spec

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

var shippedConfigs = []string{"../../configs/playstore.yaml", "../../configs/paper.yaml"}

func TestShippedConfigs(t *testing.T) {
	for _, path := range shippedConfigs {
		t.Run(path, func(t *testing.T) {
			s, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := s.Cross("installed_apps_x_app_id")
			if !ok || !reflect.DeepEqual(c.Columns, []string{"installed_apps", "app_id"}) || c.HashBuckets < 1<<20 {
				t.Errorf("cross installed_apps_x_app_id = %+v, want installed_apps x app_id in at least 2^20 buckets", c)
			}
			if s.Join.LabelWindow.D() != 30*time.Minute {
				t.Errorf("label_window %v, want 30m", s.Join.LabelWindow)
			}
			if s.Model.Mode != ModeWideDeep {
				t.Errorf("mode %s, want wide_deep", s.Model.Mode)
			}
			for _, col := range []string{"app_id", "installed_apps", "position", "country", "app_rating"} {
				if _, ok := s.Feature(col); !ok {
					t.Errorf("no feature %s", col)
				}
			}
			for _, f := range s.Features {
				if f.Name == "true_p" || f.Name == "user_id" || f.Name == "impression_id" {
					t.Errorf("%s must not be a feature", f.Name)
				}
			}
		})
	}
}

func TestPlaystoreShape(t *testing.T) {
	s, err := Load(shippedConfigs[0])
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "playstore" || !reflect.DeepEqual(s.Model.Hidden, []int{64, 32}) {
		t.Errorf("name %q hidden %v", s.Name, s.Model.Hidden)
	}
	if f, _ := s.Feature("app_id"); f == nil || !f.Wide {
		t.Errorf("app_id must be a wide feature: %+v", f)
	}
	for _, f := range s.Features {
		if f.Type != Numeric && (f.EmbeddingDim < 8 || f.EmbeddingDim > 16) {
			t.Errorf("%s: embedding_dim %d, want 8..16", f.Name, f.EmbeddingDim)
		}
	}
}

func TestPaperShape(t *testing.T) {
	s, err := Load(shippedConfigs[1])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Model.Hidden, []int{1024, 512, 256}) {
		t.Errorf("hidden %v, want [1024 512 256]", s.Model.Hidden)
	}
	if len(s.Crosses) != 1 || len(s.WideFeatures()) != 0 {
		t.Errorf("wide part: %d crosses, %d wide features; want the one cross only", len(s.Crosses), len(s.WideFeatures()))
	}
	for _, f := range s.Features {
		if f.Type != Numeric && f.EmbeddingDim != 32 {
			t.Errorf("%s: embedding_dim %d, want 32", f.Name, f.EmbeddingDim)
		}
		if !f.Deep {
			t.Errorf("%s: not deep; the paper feeds every feature to the deep part", f.Name)
		}
	}
}

// Marshal writes a spec that Parse reads back unchanged, and marshaling that
// again gives the same bytes.
func TestMarshalRoundTrip(t *testing.T) {
	for _, path := range shippedConfigs {
		t.Run(path, func(t *testing.T) {
			s, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			out, back := marshalRoundTrip(t, s)
			again, err := back.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("Marshal is not canonical:\n%s\n---\n%s", out, again)
			}
			if !bytes.Contains(out, []byte("label_window: 30m\n")) {
				t.Errorf("durations not in short form:\n%s", out)
			}
		})
	}
}
