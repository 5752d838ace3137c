"""Charts as files: PNG frames rendered in a headless browser, GIF and MP4 encoding, the
self-contained HTML page, and the offline check of that page."""
