"""k6 `--out json` NDJSON (plain or gzip) to tidy Parquet, streaming.

k6 writes one `Metric` line per metric and one `Point` line per sample; an HTTP request
is a run of Point lines with the same time and tags, starting with `http_reqs`. The file
is read in chunks of whole requests (`tierbench.tidy.reader`); polars decodes each chunk
against an explicit schema and folds each request's Points into one row. Finished chunks
go to Parquet part files that are joined at the end, so memory stays bounded whatever the
input size.

Two outputs: the requests (`REQUEST_SCHEMA`, one row per HTTP request) and every other
sample (`METRIC_SCHEMA`: iterations, checks, vus, dropped_iterations, data_sent, ...).
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tierbench.tidy.parquet_parts import PartWriter
from tierbench.tidy.reader import K6FormatError, k6_chunks, prefetched

CHUNK_BYTES = 16 * 1024 * 1024

POINT_PREFIX = b'{"metric":"'
METRIC_PREFIX = b'{"type":"Metric"'
POINT_TYPE = '","type":"Point","data":{"time":"'
VALUE_KEY = '","value":'
TAGS_KEY = ',"tags":'

# The Points of one HTTP request, in k6's order (http_reqs opens the run).
REQUEST_METRICS = {
    "http_req_duration": "duration_ms",
    "http_req_blocked": "blocked_ms",
    "http_req_connecting": "connecting_ms",
    "http_req_tls_handshaking": "tls_handshaking_ms",
    "http_req_sending": "sending_ms",
    "http_req_waiting": "waiting_ms",
    "http_req_receiving": "receiving_ms",
    "http_req_failed": "failed",
}
REQUEST_POINTS = {"http_reqs": None, **REQUEST_METRICS}

REQUEST_SCHEMA = pl.Schema(
    {
        "timestamp": pl.Datetime("ns", "UTC"),
        "duration_ms": pl.Float64,
        "waiting_ms": pl.Float64,
        "blocked_ms": pl.Float64,
        "connecting_ms": pl.Float64,
        "tls_handshaking_ms": pl.Float64,
        "sending_ms": pl.Float64,
        "receiving_ms": pl.Float64,
        "status": pl.Int32,
        "failed": pl.Boolean,
        "expected_response": pl.Boolean,
        "name": pl.String,
        "method": pl.String,
        "url": pl.String,
        "group": pl.String,
        "scenario": pl.String,
        "error_code": pl.String,
        "vu": pl.Int64,
        "iter": pl.Int64,
    }
)

METRIC_SCHEMA = pl.Schema(
    {
        "timestamp": pl.Datetime("ns", "UTC"),
        "metric": pl.String,
        "value": pl.Float64,
        "scenario": pl.String,
        "group": pl.String,
        "name": pl.String,
        "check": pl.String,
        "vu": pl.Int64,
        "iter": pl.Int64,
    }
)

_TAGS = pl.Struct(
    {
        name: pl.String
        for name in (
            "name",
            "method",
            "url",
            "status",
            "group",
            "scenario",
            "expected_response",
            "error_code",
            "check",
            "vu",
            "iter",
        )
    }
)
POINT_DTYPE = pl.Struct(
    {
        "metric": pl.String,
        "type": pl.String,
        "data": pl.Struct(
            {
                "time": pl.String,
                "value": pl.Float64,
                "tags": _TAGS,
                "metadata": pl.Struct({"vu": pl.String, "iter": pl.String}),
            }
        ),
    }
)


class EmptyRunError(ValueError):
    """A k6 file with no HTTP requests in it."""


@dataclass(frozen=True)
class TidyResult:
    requests: int
    metric_samples: int
    lines: int
    bytes_read: int


def metrics_path_for(requests_path: Path | str) -> Path:
    """Where the non-request samples go, beside the requests file."""
    path = Path(requests_path)
    return path.with_name(path.name.removesuffix(".parquet") + ".metrics.parquet")


def _parse_time(column: str) -> pl.Expr:
    return pl.col(column).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="ns", time_zone="UTC", strict=True
    )


def _int_tag(name: str) -> pl.Expr:
    # vu/iter are tags when listed in --system-tags of old k6, metadata in k6 >= 0.41.
    return pl.coalesce(pl.col(name), pl.col(f"meta_{name}")).cast(pl.Int64, strict=False)


def _decode_full(points: pl.LazyFrame) -> pl.LazyFrame:
    """Tags and metadata of Point lines, through a full JSON decode."""
    data = pl.col("p").struct.field("data")
    return points.select(
        "metric",
        "value",
        pl.col("line").str.json_decode(POINT_DTYPE).alias("p"),
    ).select(
        "metric",
        "value",
        data.struct.field("time"),
        data.struct.field("tags").struct.unnest(),
        data.struct.field("metadata").struct.field("vu").alias("meta_vu"),
        data.struct.field("metadata").struct.field("iter").alias("meta_iter"),
    )


def _request_values_in_order(http: pl.DataFrame) -> pl.DataFrame | None:
    """Each request's values when every request is k6's usual run of Points in k6's usual
    order (the fast path: every k-th row), else None."""
    width = len(REQUEST_POINTS)
    if http.height % width:
        return None
    metric = http["metric"]
    for offset, name in enumerate(REQUEST_POINTS):
        if not (metric.gather_every(width, offset) == name).all():
            return None
    value = http["value"]
    return pl.DataFrame(
        {
            column: value.gather_every(width, offset + 1)
            for offset, column in enumerate(REQUEST_METRICS.values())
        }
    )


def _request_values(http: pl.DataFrame, path: Path) -> pl.DataFrame:
    """One row of values per request, from the Points of whole requests in any order."""
    in_order = _request_values_in_order(http)
    if in_order is not None:
        return in_order
    values = http.group_by("request", maintain_order=True).agg(
        pl.col("metric").first().alias("opens_with"),
        pl.col("line_no").first(),
        (pl.col("metric").n_unique() == pl.len()).alias("distinct"),
        (pl.len() == len(REQUEST_POINTS)).alias("complete"),
        **{
            column: pl.col("value").filter(pl.col("metric") == metric).first()
            for metric, column in REQUEST_METRICS.items()
        },
    )
    broken = values.filter(
        (pl.col("opens_with") != "http_reqs") | ~pl.col("distinct") | ~pl.col("complete")
    )
    if broken.height:
        raise K6FormatError(
            path,
            broken.item(0, "line_no"),
            "an HTTP request's Points are incomplete or interleaved with another request's",
        )
    return values.select(REQUEST_METRICS.values())


def _split_chunk(
    chunk: bytes, path: Path, first_line: int
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The requests, the other samples and the line count of a chunk of whole requests.

    k6 writes `{"metric":M,"type":"Point","data":{"time":T,"value":V,"tags":{...}...}}`.
    Metric and value are cut out of every Point line by position; only
    the lines whose tags are kept (a request's first Point, non-HTTP samples) are decoded
    as JSON, which is most of the speed.
    """
    lines = pl.read_lines(chunk).lazy().with_row_index("line_no", offset=first_line)
    line = pl.col("line")
    metric_end = line.str.find(POINT_TYPE, literal=True)
    value_start = line.str.find(VALUE_KEY, literal=True) + len(VALUE_KEY)
    value_end = line.str.find(TAGS_KEY, literal=True)
    points = lines.with_columns(
        metric=line.str.slice(len(POINT_PREFIX), metric_end - len(POINT_PREFIX)),
        value=line.str.slice(value_start, value_end - value_start).cast(pl.Float64, strict=False),
        is_point=line.str.starts_with(POINT_PREFIX.decode()),
    ).collect()
    line_count = points.height
    points = points.lazy()
    # A whole Point ends with its tags (and metadata) closing: a line cut short does not.
    bad = (
        points.filter(
            (line != "")
            & ~line.str.starts_with(METRIC_PREFIX.decode())
            & (
                ~pl.col("is_point")
                | pl.col("metric").is_null()
                | pl.col("value").is_null()
                | ~line.str.ends_with("}}}")
            )
        )
        .select("line_no", "line")
        .head(1)
    )
    points = points.filter(pl.col("is_point"))
    http = points.filter(pl.col("metric").is_in(list(REQUEST_POINTS))).with_columns(
        request=(pl.col("metric") == "http_reqs").cum_sum()
    )
    anchors = _decode_full(http.filter(pl.col("metric") == "http_reqs"))
    others = _decode_full(points.filter(~pl.col("metric").is_in(list(REQUEST_POINTS))))
    bad, http, anchors, others = pl.collect_all([bad, http, anchors, others])
    if bad.height:
        line_no, line = bad.row(0)
        raise K6FormatError(path, line_no, f"not a whole k6 Metric or Point line: {line[:80]!r}")
    values = _request_values(http, path)
    requests = pl.concat([values, anchors], how="horizontal")
    return _request_rows(requests), _metric_rows(others), line_count


def _identity_tags() -> list[pl.Expr]:
    return [_int_tag("vu").alias("vu"), _int_tag("iter").alias("iter")]


def _request_rows(requests: pl.DataFrame) -> pl.DataFrame:
    """One row per request, in REQUEST_SCHEMA: its timings, status and tags."""
    return requests.select(
        _parse_time("time").alias("timestamp"),
        *(pl.col(column) for column in REQUEST_METRICS.values() if column != "failed"),
        pl.col("status").cast(pl.Int32, strict=False),
        (pl.col("failed") != 0).alias("failed"),
        (pl.col("expected_response") == "true").alias("expected_response"),
        "name",
        "method",
        "url",
        "group",
        "scenario",
        "error_code",
        *_identity_tags(),
    ).match_to_schema(REQUEST_SCHEMA)


def _metric_rows(others: pl.DataFrame) -> pl.DataFrame:
    """Every other sample, in METRIC_SCHEMA."""
    return others.select(
        _parse_time("time").alias("timestamp"),
        "metric",
        "value",
        "scenario",
        "group",
        "name",
        "check",
        *_identity_tags(),
    ).match_to_schema(METRIC_SCHEMA)


def tidy_k6_json(
    source: Path | str,
    requests_out: Path | str,
    metrics_out: Path | str | None = None,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    allow_empty: bool = False,
) -> TidyResult:
    """Convert a k6 JSON file to the requests and metrics Parquet files.

    Raises K6FormatError (file and line) for truncated, corrupt or foreign input and
    EmptyRunError when the file holds no HTTP request (unless `allow_empty`: a cell whose
    runtime failed has none, and gets empty tables); nothing is left at the outputs then.
    """
    source, requests_out = Path(source), Path(requests_out)
    metrics_out = Path(metrics_out) if metrics_out else metrics_path_for(requests_out)
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such k6 JSON file")
    requests_out.parent.mkdir(parents=True, exist_ok=True)
    metrics_out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tidy-", dir=requests_out.parent))
    try:
        (work / "requests").mkdir()
        (work / "metrics").mkdir()
        requests = PartWriter(work / "requests", REQUEST_SCHEMA)
        metrics = PartWriter(work / "metrics", METRIC_SCHEMA)
        line_number, bytes_read = 1, 0
        with closing(prefetched(k6_chunks(source, chunk_bytes))) as chunks:
            for chunk in chunks:
                bytes_read += len(chunk)
                try:
                    chunk_requests, chunk_metrics, lines = _split_chunk(chunk, source, line_number)
                except pl.exceptions.PolarsError as error:
                    raise K6FormatError(
                        source,
                        None,
                        f"a Point from line {line_number} on has a malformed tag or time ({error})",
                    ) from error
                requests.add(chunk_requests)
                metrics.add(chunk_metrics)
                line_number += lines
        if requests.rows == 0 and not allow_empty:
            raise EmptyRunError(
                f"{source}: no HTTP requests in this k6 run; check that the service "
                "answered and that the k6 script makes requests."
            )
        requests.finish(requests_out)
        metrics.finish(metrics_out)
        return TidyResult(requests.rows, metrics.rows, line_number - 1, bytes_read)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scan_requests(path: Path | str) -> pl.LazyFrame:
    return pl.scan_parquet(path, schema=REQUEST_SCHEMA)


def scan_metrics(path: Path | str) -> pl.LazyFrame:
    return pl.scan_parquet(path, schema=METRIC_SCHEMA)
