"""Score candidates with `wdstream serve` from pyarrow, as a batch client would.

Reads CANDIDATES.json ({"columns": [[name, type], ...], "rows": [{...}]},
types utf8, float64, bool or list<utf8>), builds a pyarrow table of them
(one row per candidate, absent features null), POSTs it to URL as an Arrow
IPC stream of two record batches, reads the Arrow answer with pyarrow, then
POSTs a table whose app_id is int64 (pyarrow's type for Python ints), which
the server must refuse. Prints one JSON object: the answer's content type,
model and version (schema metadata), the scores as float32 bit patterns,
the ranks, and the refusal's status and error.

usage: score_arrow.py URL CANDIDATES.json
"""
import json
import math
import sys
import urllib.error
import urllib.request

import numpy as np
import pyarrow as pa

ARROW_STREAM = "application/vnd.apache.arrow.stream"
TYPES = {
    "utf8": pa.string(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "list<utf8>": pa.list_(pa.string()),
}


def post(url, table, max_chunksize):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        for batch in table.to_batches(max_chunksize=max_chunksize):
            w.write_batch(batch)
    req = urllib.request.Request(url, data=sink.getvalue().to_pybytes(), headers={"Content-Type": ARROW_STREAM})
    return urllib.request.urlopen(req)


def main():
    url, path = sys.argv[1], sys.argv[2]
    doc = json.load(open(path))
    fields = [("user_id", pa.string()), ("app_id", pa.string())]
    fields += [(name, TYPES[typ]) for name, typ in doc["columns"]]
    table = pa.Table.from_pylist(doc["rows"], schema=pa.schema(fields))
    with post(url, table, math.ceil(table.num_rows / 2)) as resp:
        content_type = resp.headers["Content-Type"]
        answer = pa.ipc.open_stream(resp.read()).read_all()
    want = pa.schema([pa.field("score", pa.float32(), nullable=False), pa.field("rank", pa.int32(), nullable=False)])
    if not answer.schema.remove_metadata().equals(want):
        sys.exit(f"answer schema {answer.schema}, want {want}")
    md = answer.schema.metadata

    bad = pa.table({"user_id": ["u"], "app_id": [7]})
    try:
        post(url, bad, 1)
        refused = {"status": 200, "error": ""}
    except urllib.error.HTTPError as e:
        refused = {"status": e.code, "error": json.load(e)["error"]}

    print(json.dumps({
        "content_type": content_type,
        "model": md[b"wdstream.model"].decode(),
        "version": md[b"wdstream.version"].decode(),
        "score_bits": answer["score"].to_numpy().view(np.uint32).tolist(),
        "rank": answer["rank"].to_pylist(),
        "refused": refused,
    }))


if __name__ == "__main__":
    main()
