"""Charts of a sweep's results: the comparison animation, the summary image, the HTML report."""
