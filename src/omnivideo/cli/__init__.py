"""The `omnivideo` command: one sub-app per noun."""
