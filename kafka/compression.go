package kafka

import (
	"fmt"
	"strings"

	kg "github.com/segmentio/kafka-go"
)

// Compression is the codec of produced record batches. Its zero value is
// Zstd, at its fastest level (see batchEncoder); None is a choice of its
// own.
type Compression int8

// The codecs.
const (
	Zstd Compression = iota
	None
	Gzip
	Snappy
	Lz4
)

var compressionNames = []string{"zstd", "none", "gzip", "snappy", "lz4"}

func (c Compression) String() string {
	if int(c) < len(compressionNames) && c >= 0 {
		return compressionNames[c]
	}
	return fmt.Sprintf("Compression(%d)", int8(c))
}

// ParseCompression reads a codec's name (zstd, none, gzip, snappy, lz4).
func ParseCompression(s string) (Compression, error) {
	for i, n := range compressionNames {
		if strings.EqualFold(s, n) {
			return Compression(i), nil
		}
	}
	return 0, fmt.Errorf("compression %q: want one of %s", s, strings.Join(compressionNames, ", "))
}

// kafkaGo returns kafka-go's code of c (0 for none).
func (c Compression) kafkaGo() kg.Compression {
	switch c {
	case Gzip:
		return kg.Gzip
	case Snappy:
		return kg.Snappy
	case Lz4:
		return kg.Lz4
	case None:
		return 0
	}
	return kg.Zstd
}

// UnmarshalText reads a codec's name (ParseCompression), for flags and
// configuration files.
func (c *Compression) UnmarshalText(b []byte) error {
	v, err := ParseCompression(string(b))
	if err == nil {
		*c = v
	}
	return err
}

// MarshalText writes the codec's name.
func (c Compression) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
