"""Running the services in production: health and readiness endpoints, Prometheus metrics
(docs/operations.md)."""
