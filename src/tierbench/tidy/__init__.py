"""The tidy stage: k6's NDJSON output to Parquet."""
