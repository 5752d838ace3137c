"""Charts of a comparison sweep: the animation (a race per tier, the bars between tiers,
the closing table), the summary image and the interactive report."""
