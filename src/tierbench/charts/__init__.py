"""Charts of a sweep's results: the comparison sweep's (`comparison`), the capacity sweep's
(`capacity`), and the files they are written as (`output`); the theme, the tiers, the
chart options and the capacity results at the top are shared by both sweeps' charts."""
