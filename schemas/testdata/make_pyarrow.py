# Writes the pyarrow-made Parquet files that schemas' tests read as an
# interop guard (see README). Run: python3 make_pyarrow.py (needs pyarrow).
import pyarrow as pa
import pyarrow.parquet as pq

many = ["app-%d" % i for i in range(40)]
impressions = pa.table({
    "impression_id": ["i0", "i1", "i2", "i3", "i4"],
    "ts": pa.array([1700000000000, 1700000000001, 1700000000002, 1700000000003, 1700000000004], pa.int64()),
    "user_id": ["u0", "u1", "u2", "u3", "u4"],
    "app_id": ["a0", "a1", "a2", "a3", "a4"],
    "country": ["de", None, "fr", "de", "us"],
    "age": pa.array([31.5, 40.0, None, 18.0, 22.25], pa.float64()),
    "new_user": [True, False, None, True, False],
    "installed_apps": pa.array([["x", "y", "z"], [], None, many, ["x"]], pa.list_(pa.string())),
})
# Two row groups, dictionary pages (pyarrow's defaults otherwise).
pq.write_table(impressions, "pyarrow_impressions.parquet", row_group_size=3, compression="zstd")

examples = pa.table({
    "label": pa.array([1, 0], pa.int64()),
    "install_ts": pa.array([1700000060000, None], pa.int64()),
    "impression_id": ["e0", "e1"],
    "ts": pa.array([1700000000000, 1700000000001], pa.int64()),
    "installed_apps": pa.array([[], ["q"]], pa.list_(pa.string())),
})
pq.write_table(examples, "pyarrow_examples.parquet", compression="snappy")
