"""The load stage on one host's Docker engine, through Docker Compose."""
