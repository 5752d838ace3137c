"""The tracing-overhead sweep: each runtime with its tracing on and off, per tier."""
