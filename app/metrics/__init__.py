"""GET /metrics: Prometheus text for the operator, read at scrape time from the shared stores
(Redis-backed counters and histograms, RQ, MongoDB), so any web process of any dyno answers
with the same series."""
