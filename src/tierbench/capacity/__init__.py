"""Capacity mode: each runtime's highest sustainable arrival rate per tier under an SLO,
why it stops there, and which tier (x replicas) is cheapest for a target load."""
