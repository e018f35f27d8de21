"""Who runs a task. The store, not the queue, is the source of truth: a lost message loses nothing."""
