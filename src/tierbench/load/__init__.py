"""The load stage: one cell placed under its tier's limits, loaded by k6, measured."""
