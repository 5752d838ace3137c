"""The `tierbench` command line: one module per subcommand, thin over the stages."""
