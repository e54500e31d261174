"""Operating a node: HTTP health and metrics endpoints, machine-readable logs."""
