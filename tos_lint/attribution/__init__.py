"""Provider attribution by style (placeholder)."""
