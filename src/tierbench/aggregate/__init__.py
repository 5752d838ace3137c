"""The aggregate stage: tables, k6's statistics, warnings and comparisons."""
