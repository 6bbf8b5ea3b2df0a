"""bench/run in parts: common, subjects, running, stats, report."""
