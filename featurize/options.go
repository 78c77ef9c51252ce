package featurize

import (
	"errors"
	"fmt"
)

// Options tune a State. The zero value gives the defaults.
type Options struct {
	// SketchBytes is the memory of each vocabulary's admission sketch (the
	// counts of strings not yet admitted); vocabularies with min_count 1
	// have none. Default 4 MiB.
	SketchBytes int
	// QuantileK is the KLL sketch's k for numeric features (rank error
	// about 1.7% at k = 200, shrinking as 1/k). Default 200; >= 8.
	QuantileK int
}

const defaultSketchBytes = 4 << 20

func (o *Options) validate() error {
	if o.SketchBytes == 0 {
		o.SketchBytes = defaultSketchBytes
	}
	if o.QuantileK == 0 {
		o.QuantileK = defaultKLLK
	}
	var errs []error
	if o.SketchBytes < minAdmitWidth*bytesPerColumn {
		errs = append(errs, fmt.Errorf("options: SketchBytes %d is below the minimum %d", o.SketchBytes, minAdmitWidth*bytesPerColumn))
	}
	if o.QuantileK < 8 {
		errs = append(errs, fmt.Errorf("options: QuantileK %d is below the minimum 8", o.QuantileK))
	}
	return errors.Join(errs...)
}
