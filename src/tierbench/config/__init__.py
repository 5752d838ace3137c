"""The sweep's configuration and its checks: what a cell is."""
