"""Charts of a capacity sweep, in the comparison charts' visual language: the latency-
throughput curve of every cell (the knee chart), capacity by tier, cost per million
requests by tier, a closing table, the summary image that holds them, and the search
animation."""
